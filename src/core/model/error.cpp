#include "poolcert/model/error.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>

namespace poolcert {
namespace {

std::string place(const std::filesystem::path& file, unsigned line, unsigned column) {
  std::string s = file.string();
  if (line > 0) {
    s += ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
  }
  return s;
}

// Drains the thread's OpenSSL error queue into "; "-separated reason strings, oldest first.
std::string drain_openssl_errors() {
  std::string out;
  unsigned long code = 0;
  const char* data = nullptr;
  int flags = 0;
  while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

}  // namespace

SpecError::SpecError(std::filesystem::path file, unsigned line, unsigned column, std::string field,
                     const std::string& message)
    : Error(ErrorKind::kBadInput,
            place(file, line, column) + ": " + (field.empty() ? "" : field + ": ") + message),
      file_(std::move(file)),
      line_(line),
      column_(column),
      field_(std::move(field)),
      detail_(message) {}

IoError::IoError(ErrorKind kind, const std::filesystem::path& path, const std::string& doing,
                 int err)
    : Error(kind, path.string() + ": cannot " + doing + ": " + std::strerror(err)),
      path_(path),
      errno_(err) {}

OpenSslError::OpenSslError(const std::string& doing, ErrorKind kind)
    : Error(kind, [&] {
        std::string queue = drain_openssl_errors();
        return queue.empty() ? doing + " failed" : doing + " failed: " + queue;
      }()) {}

BadFileError::BadFileError(const std::filesystem::path& path, const std::string& message)
    : Error(ErrorKind::kBadInput, path.string() + ": " + message) {}

namespace {

// Appends `text` with every byte `escaped` says so as \xNN.
template <class Escaped>
void append_escaped(std::string& out, std::string_view text, Escaped escaped) {
  static const char kHex[] = "0123456789abcdef";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (!escaped(c)) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text, is_control);
  return out;
}

std::string quote_value(std::string_view text, std::size_t max) {
  std::string out = "'";
  std::size_t shown = std::min(text.size(), max);
  append_escaped(out, text.substr(0, shown),
                 [](unsigned char c) { return is_control(c) || c >= 0x80; });
  out += "'";
  if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " characters)";
  return out;
}

}  // namespace poolcert
