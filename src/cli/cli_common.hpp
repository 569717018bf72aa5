// What every command of the poolcert program shares: spec loading, passphrases, terminals.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "poolcert/model/spec.hpp"

namespace poolcert::cli {

// Outcome is how a command ended; main.cpp alone turns it into an exit code.
enum class Outcome {
  kOk,        // everything done, every check passed
  kFailed,    // a check or an operation failed
  kBadInput,  // some input could not be read (the rest was still reported)
};

// Runner is a parsed command ready to run. Errors it throws are mapped to exit codes by main.cpp.
using Runner = std::function<Outcome()>;

// load_specs loads every spec named on the command line, in order. Throws SpecError/IoError.
std::vector<PoolSpec> load_specs(const std::vector<std::string>& paths);

// normalise_server_names validates --server values as DNS names and lower-cases them. Throws
// UsageError naming the bad value.
std::vector<std::string> normalise_server_names(const std::vector<std::string>& names);

// PassphraseSource is where a passphrase may come from; never argv.
struct PassphraseSource {
  std::string file;  // --passphrase-file
  std::string env;   // --passphrase-env
};

// add_follow_key_symlinks_flag adds --follow-key-symlinks to `cmd`: an existing key that is a
// symbolic link is used instead of refused.
void add_follow_key_symlinks_flag(CLI::App& cmd, bool& follow);

// add_passphrase_options adds --passphrase-file and --passphrase-env to `cmd`.
void add_passphrase_options(CLI::App& cmd, PassphraseSource& source);

// read_passphrase gets the passphrase from the file (its first line), the environment variable,
// or, only when stdin is a terminal and `prompt` is not empty, a prompt without echo (asked
// twice when `confirm`). Returns nullopt when no source is given and stdin is not a terminal.
// Throws UsageError for an empty passphrase or a missing variable, IoError for an unreadable
// file.
std::optional<std::string> read_passphrase(const PassphraseSource& source,
                                           const std::string& prompt, bool confirm);

// print_error and print_warning write "poolcert: error: MESSAGE" (or "warning") and a newline on
// `out`. Every diagnostic of poolcert is one line: a control character in the message (a newline
// in a value or a file name, a NUL) is shown as \xNN.
void print_error(std::ostream& out, std::string_view message);
void print_warning(std::ostream& out, std::string_view message);

// Terminal facts for rendering: colour only on a terminal, and never with NO_COLOR set.
bool stdout_is_terminal();
bool stderr_is_terminal();
bool use_colour();

}  // namespace poolcert::cli
