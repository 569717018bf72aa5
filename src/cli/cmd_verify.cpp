// poolcert verify SPEC (--cert FILE... | --cert-dir DIR): check what the CA returned, before
// anything is installed.
#include <ctime>
#include <future>
#include <iostream>
#include <memory>
#include <system_error>

#include "commands.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/sys/parallel.hpp"
#include "poolcert/verify/verify.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct VerifyCliOptions {
  std::string spec;
  std::vector<std::string> certs;
  std::string cert_dir;
  std::string key_dir;
  std::string ca_bundle;
  int min_days = 30;
  std::string at;
  bool strict = false;
  bool follow_key_symlinks = false;
  std::vector<std::string> servers;
  unsigned jobs = 0;  // 0: the number of cores
  bool json = false;
};

Outcome run_verify(const VerifyCliOptions& opt) {
  if (opt.certs.empty() == opt.cert_dir.empty()) {
    throw UsageError("give the certificates with --cert FILE... or --cert-dir DIR (one of them)");
  }
  // A folder's certificates are read on a second thread while this one reads the spec and the
  // key folder: the two need nothing of each other, and for a large pool both take a while
  // (2000 servers: 0.3 s for the certificates, 0.09 s for the spec side). Only its regular files
  // are read, so the thread always ends, whatever stops this one (an error in the spec is
  // reported once it has). --cert FILE is read after the spec as before: a FILE may be a pipe or
  // a terminal that is never closed.
  std::future<CertificateInputs> folder;
  if (!opt.cert_dir.empty()) {
    try {
      folder =
          std::async(std::launch::async, read_certificate_dir, std::filesystem::path(opt.cert_dir));
    } catch (const std::system_error&) {  // no thread to be had: the folder is read below
    }
  }
  PoolSpec spec = load_specs({opt.spec}).front();
  VerifyOptions options;
  options.key_dir = opt.key_dir.empty() ? spec.output_dir : std::filesystem::path(opt.key_dir);
  std::error_code ec;
  if (!opt.key_dir.empty() && !std::filesystem::is_directory(options.key_dir, ec)) {
    // A typo must not quietly turn key.match into "could not be checked".
    throw UsageError("--key-dir " + opt.key_dir + ": no such folder");
  }
  if (!opt.ca_bundle.empty()) options.ca_bundle = opt.ca_bundle;
  options.min_days = opt.min_days;
  options.at = opt.at.empty() ? std::time(nullptr) : parse_time(opt.at);
  options.strict = opt.strict;
  options.servers = normalise_server_names(opt.servers);
  options.jobs = opt.jobs != 0 ? opt.jobs : hardware_jobs();
  options.follow_key_symlinks = opt.follow_key_symlinks;

  std::vector<ExpectedCertificate> expected = expected_certificates(spec, options);

  CertificateInputs inputs = folder.valid() ? folder.get()
                             : opt.certs.empty()
                                 ? read_certificate_dir(opt.cert_dir)
                                 : read_certificate_files({opt.certs.begin(), opt.certs.end()});
  for (const auto& [file, message] : inputs.errors) {
    print_error(std::cerr, message);
  }
  if (inputs.certs.empty() && inputs.errors.empty()) {
    throw UsageError(opt.cert_dir + ": no certificate files (.cer .crt .pem .der .p7b .p7c)");
  }
  VerifyReport report = verify(spec, expected, inputs.certs, options);
  print_file_warnings(std::cerr, report.warnings);  // on stderr with --json too
  // Decided before rendering: the JSON report consumes the report.
  Outcome outcome = !inputs.errors.empty() ? Outcome::kBadInput  // outweighs any check result
                    : report.failed()      ? Outcome::kFailed
                                           : Outcome::kOk;
  if (opt.json) {
    print_json(std::cout, verify_json(std::move(report), inputs));
  } else {
    print_verify(std::cout, report, use_colour());
  }
  return outcome;
}

}  // namespace

void setup_verify(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<VerifyCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check issued certificates against the spec before they are installed");
  cmd->add_option("SPEC", opt->spec, "pool spec (TOML)")->required();
  auto* cert = cmd->add_option("--cert", opt->certs, "certificate file: PEM, DER or PKCS#7")
                   ->type_name("FILE");
  cmd->add_option("--cert-dir", opt->cert_dir, "every certificate file in a folder")
      ->type_name("DIR")
      ->excludes(cert);
  cmd->add_option("--key-dir", opt->key_dir,
                  "where the servers' keys/CSRs are (default: the "
                  "spec's output folder)");
  cmd->add_option("--ca-bundle", opt->ca_bundle, "trust anchors (default: the system store)")
      ->type_name("FILE");
  cmd->add_option("--min-days", opt->min_days, "fail with fewer days of validity left")
      ->check(CLI::Range(0, 36500));
  cmd->add_option("--at", opt->at, "check at this time instead of now (2026-11-25T10:00:00Z)");
  cmd->add_flag("--strict", opt->strict, "names beyond the spec's fail instead of warning");
  cmd->add_option("--server", opt->servers, "only this server (repeatable)")->type_name("FQDN");
  cmd->add_option("--jobs,-j", opt->jobs,
                  "threads decoding and checking certificates (default: the number of cores)")
      ->check(CLI::Range(1u, 256u));
  add_follow_key_symlinks_flag(*cmd, opt->follow_key_symlinks);
  cmd->add_flag("--json", opt->json, "machine-readable report on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_verify(*opt); }; });
}

}  // namespace poolcert::cli
