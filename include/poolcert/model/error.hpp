// poolcert's one error hierarchy. The library throws these and never prints; the program maps
// Error::kind() to an exit code in main.cpp alone.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace poolcert {

// ErrorKind says whose fault a failure is, which is what the exit code reports: bad input or
// usage (2) or an operation that could not be carried out (1).
enum class ErrorKind {
  kBadInput,   // the user's files, arguments or environment are wrong: exit 2
  kOperation,  // a well-formed request failed while running: exit 1
};

// Error is the base of everything poolcert throws on purpose. what() is one line, ready to be
// printed after "poolcert: error: ".
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// SpecError is a mistake in a spec or profile file: the file, line:column (0 when unknown), the
// dotted field, and what is wrong. Always kBadInput.
class SpecError : public Error {
 public:
  SpecError(std::filesystem::path file, unsigned line, unsigned column, std::string field,
            const std::string& message);
  const std::filesystem::path& file() const noexcept { return file_; }
  unsigned line() const noexcept { return line_; }
  unsigned column() const noexcept { return column_; }
  const std::string& field() const noexcept { return field_; }
  // The message without the file/place/field prefix.
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::filesystem::path file_;
  unsigned line_;
  unsigned column_;
  std::string field_;
  std::string detail_;
};

// UsageError is a command line that cannot be carried out as given (a --server not in any spec,
// two flags that exclude each other). Always kBadInput.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ErrorKind::kBadInput, message) {}
};

// IoError is a file that could not be read or written: the path and the errno text. Reading the
// user's input is kBadInput; failing to write an output is kBadInput too when the folder cannot be
// written at all (checked before anything is made), kOperation when it fails half-way.
class IoError : public Error {
 public:
  IoError(ErrorKind kind, const std::filesystem::path& path, const std::string& doing, int err);
  const std::filesystem::path& path() const noexcept { return path_; }
  int error_number() const noexcept { return errno_; }  // the errno it reports

 private:
  std::filesystem::path path_;
  int errno_ = 0;
};

// OpenSslError is a libcrypto call that failed: what poolcert was doing, then the drained
// OpenSSL error queue. The constructor empties the queue.
class OpenSslError : public Error {
 public:
  explicit OpenSslError(const std::string& doing, ErrorKind kind = ErrorKind::kOperation);
};

// BadFileError is an input file whose content is not what it must be (not a certificate, a
// truncated PEM, an encrypted key without passphrase). Always kBadInput.
class BadFileError : public Error {
 public:
  BadFileError(const std::filesystem::path& path, const std::string& message);
};

// quote_value is `text` in single quotes, ready to go into an error message: control characters
// and non-ASCII bytes are shown as \xNN (a message stays one line and cannot drive the
// terminal), and text longer than `max` characters is cut, saying how long it was.
std::string quote_value(std::string_view text, std::size_t max = 64);

// one_line is `text` with its control characters (a newline, a NUL) shown as \xNN, UTF-8 left as
// it is: what every diagnostic line of poolcert prints.
std::string one_line(std::string_view text);

}  // namespace poolcert
