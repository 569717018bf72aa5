// poolcert: certificates and DNS for OCS / Lync / Skype for Business pools, right the first time.
// Exit codes live here alone: 0 ok, 1 a check or operation failed, 2 bad usage or bad input.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "commands.hpp"
#include "poolcert/model/error.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

int exit_code_of(poolcert::ErrorKind kind) {
  return kind == poolcert::ErrorKind::kBadInput ? kExitBadInput : kExitFailed;
}

int exit_code_of(poolcert::cli::Outcome outcome) {
  switch (outcome) {
    case poolcert::cli::Outcome::kOk:
      return kExitOk;
    case poolcert::cli::Outcome::kFailed:
      return kExitFailed;
    case poolcert::cli::Outcome::kBadInput:
      return kExitBadInput;
  }
  return kExitFailed;
}

// A report that never reached standard output (a full disk, a reader that went away: SIGPIPE is
// ignored) is a failed run, not a success a script would trust. Bad input stays exit 2.
int check_stdout(int code) {
  errno = 0;
  if (std::cout.flush()) return code;
  int err = errno;
  poolcert::cli::print_error(std::cerr,
                             std::string("writing standard output: ") +
                                 (err != 0 ? std::strerror(err) : "the output is incomplete"));
  return code == kExitBadInput ? code : kExitFailed;
}

// Private keys and passphrases are in this process's memory: a crash must not write them to a
// core file, and another process of the same user must not read them through ptrace or
// /proc/<pid>/mem. Not dumpable: no core file, and /proc/<pid>'s files belong to root
// (prctl(2) PR_SET_DUMPABLE). A core size limit of 0 also covers a core_pattern that pipes to a
// handler (which suid_dumpable=2 would still run). Done for every command: each may read a key.
void keep_secrets_out_of_core_dumps() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit none {
    0, 0
  };
  ::setrlimit(RLIMIT_CORE, &none);
}

}  // namespace

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // No fastbins: a report of tens of thousands of small objects (verify --json: half a million
  // allocations for 2000 certificates) is freed in the order it was built, and with fastbins every
  // free that coalesces a large block first runs malloc_consolidate over the fastbins. That made
  // freeing the 2000-certificate --json document cost 45 ms instead of 17 ms. Small blocks still
  // come from the per-thread tcache.
  mallopt(M_MXFAST, 0);
#endif
  // A peer or a pipe that closes early is an error to report, not a reason to die silently.
  std::signal(SIGPIPE, SIG_IGN);
  keep_secrets_out_of_core_dumps();
  CLI::App app{
      "poolcert: keys, CSRs, checks and DNS for a Microsoft OCS / Lync / Skype for "
      "Business server pool"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "poolcert 0.1.0");
  poolcert::cli::Runner runner;
  poolcert::cli::setup_plan(app, runner);
  poolcert::cli::setup_csr(app, runner);
  poolcert::cli::setup_inspect(app, runner);
  poolcert::cli::setup_verify(app, runner);
  poolcert::cli::setup_pfx(app, runner);
  poolcert::cli::setup_dns(app, runner);
  poolcert::cli::setup_probe(app, runner);
  poolcert::cli::setup_ca(app, runner);
  poolcert::cli::setup_profiles(app, runner);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return check_stdout(app.exit(e) == 0 ? kExitOk : kExitBadInput);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error of poolcert.
    poolcert::cli::print_error(std::cerr, std::string(e.what()) + " (see poolcert --help)");
    return kExitBadInput;
  }
  int code = kExitFailed;
  try {
    code = runner ? exit_code_of(runner()) : kExitBadInput;
  } catch (const poolcert::Error& e) {
    poolcert::cli::print_error(std::cerr, e.what());
    code = exit_code_of(e.kind());
  } catch (const std::exception& e) {
    poolcert::cli::print_error(std::cerr, e.what());
    code = kExitFailed;
  }
  return check_stdout(code);
}
