#include "cli_common.hpp"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/toml/spec_toml.hpp"

namespace poolcert::cli {
namespace {

// OpenSSL hands a key's passphrase over in a buffer of PEM_BUFSIZE (1024) bytes, and the openssl
// command reads at most 1023 of a -passin file: a longer passphrase would make a key that an
// admin's openssl (or, past 1024, poolcert itself) could not open.
constexpr std::size_t kMaxPassphraseBytes = PEM_BUFSIZE - 1;

// Reads one line from the terminal with echo off.
std::string prompt_hidden(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool have_tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (have_tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (have_tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  return line;
}

std::string first_line(std::string text) {
  std::size_t end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  return text;
}

}  // namespace

std::vector<PoolSpec> load_specs(const std::vector<std::string>& paths) {
  ProfileSearch search = default_profile_search();
  std::vector<PoolSpec> specs;
  specs.reserve(paths.size());
  std::string today = today_utc();  // the request date in friendly names
  for (const std::string& path : paths) {
    specs.push_back(load_spec(path, search));
    specs.back().request_date = today;
  }
  return specs;
}

std::vector<std::string> normalise_server_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    NameCheck check = check_dns_name(name);
    if (!check.ok()) throw UsageError("--server '" + name + "': " + check.reason);
    out.push_back(check.name);
  }
  return out;
}

void add_follow_key_symlinks_flag(CLI::App& cmd, bool& follow) {
  cmd.add_flag("--follow-key-symlinks", follow,
               "use an existing key that is a symbolic link (refused otherwise: whoever can "
               "change the link or its target can change the key)");
}

void add_passphrase_options(CLI::App& cmd, PassphraseSource& source) {
  auto* file = cmd.add_option("--passphrase-file", source.file,
                              "read the key passphrase from the first line of FILE")
                   ->type_name("FILE");
  cmd.add_option("--passphrase-env", source.env,
                 "read the key passphrase from environment variable VAR")
      ->type_name("VAR")
      ->excludes(file);
}

std::optional<std::string> read_passphrase(const PassphraseSource& source,
                                           const std::string& prompt, bool confirm) {
  std::string pass;
  if (!source.file.empty()) {
    std::string text = read_input_file(source.file, 64 << 10);
    pass = first_line(text);
    OPENSSL_cleanse(text.data(), text.size());
    if (pass.empty()) throw UsageError(source.file + ": the passphrase file's first line is empty");
    if (pass.find('\0') != std::string::npos) {
      // openssl -passin file: stops at the NUL: a key made with the rest could not be opened.
      OPENSSL_cleanse(pass.data(), pass.size());
      throw UsageError(source.file +
                       ": the passphrase holds a NUL byte, which the openssl "
                       "command cannot read back");
    }
  } else if (!source.env.empty()) {
    const char* value = std::getenv(source.env.c_str());
    if (value == nullptr) throw UsageError("--passphrase-env: " + source.env + " is not set");
    pass = value;
    if (pass.empty()) throw UsageError("--passphrase-env: " + source.env + " is empty");
  } else if (!prompt.empty() && ::isatty(STDIN_FILENO) == 1) {
    pass = prompt_hidden(prompt);
    if (pass.empty()) throw UsageError("empty passphrase");
    if (confirm && prompt_hidden("Again: ") != pass) {
      throw UsageError("the two passphrases differ");
    }
  } else {
    return std::nullopt;
  }
  if (pass.size() > kMaxPassphraseBytes) {
    OPENSSL_cleanse(pass.data(), pass.size());
    throw UsageError("the passphrase is longer than " + std::to_string(kMaxPassphraseBytes) +
                     " bytes, more than openssl reads of a key's passphrase");
  }
  return pass;
}

namespace {

void print_diagnostic(std::ostream& out, std::string_view kind, std::string_view message) {
  out << ("poolcert: " + std::string(kind) + ": " + one_line(message) + "\n");  // one write
}

}  // namespace

void print_error(std::ostream& out, std::string_view message) {
  print_diagnostic(out, "error", message);
}

void print_warning(std::ostream& out, std::string_view message) {
  print_diagnostic(out, "warning", message);
}

bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}
bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}
bool use_colour() {
  return stdout_is_terminal() && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace poolcert::cli
