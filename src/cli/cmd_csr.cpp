// poolcert csr SPEC...: a key (kept if it exists) and a fresh CSR for every server.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <mutex>

#include "commands.hpp"
#include "poolcert/csr/csr_batch.hpp"
#include "poolcert/sys/parallel.hpp"
#include "poolcert/x509/key.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct CsrCliOptions {
  std::vector<std::string> specs;
  std::string output_dir;
  std::vector<std::string> servers;
  unsigned jobs = 0;  // 0: the number of cores
  bool rekey = false;
  bool encrypt_key = false;
  bool no_wait = false;
  bool follow_key_symlinks = false;
  PassphraseSource passphrase;
  std::string format = "pem";
  bool json = false;
};

Outcome run_csr(const CsrCliOptions& opt) {
  std::vector<PoolSpec> specs = load_specs(opt.specs);
  PlanOptions plan_options;
  if (!opt.output_dir.empty()) plan_options.output_dir = opt.output_dir;
  plan_options.servers = normalise_server_names(opt.servers);
  plan_options.rekey = opt.rekey;
  plan_options.encrypt_keys = opt.encrypt_key;
  std::vector<ServerJob> jobs = plan_jobs(specs, plan_options);
  if (opt.format == "inf") {  // certreq makes the key on the Windows server: none is made here
    std::vector<std::filesystem::path> infs = write_inf_jobs(jobs);
    if (opt.json) {
      print_json(std::cout, inf_json(jobs, infs));
    } else {
      for (const auto& inf : infs) std::cout << "wrote " << inf.string() << "\n";
    }
    return Outcome::kOk;
  }

  RunOptions run_options;
  run_options.jobs = opt.jobs != 0 ? opt.jobs : hardware_jobs();
  run_options.follow_key_symlinks = opt.follow_key_symlinks;
  // A passphrase is read only when some key needs one: a new key to encrypt, or an existing
  // encrypted key to reuse.
  bool given = !opt.passphrase.file.empty() || !opt.passphrase.env.empty();
  if (given || jobs_need_passphrase(jobs, run_options)) {
    run_options.passphrase = read_passphrase(opt.passphrase, "Key passphrase: ", true);
  }
  // Every check of every spec on what is there now, before any folder is made: bad input
  // changes nothing.
  {
    OutputFolders existing(jobs, OutputFolders::Create::kNo);
    check_jobs(plan_jobs(specs, plan_options, &existing), run_options);
  }

  // Runs on one folder take turns (README: two runs on one folder). What to do with each key is
  // decided again once the folders are ours, through the folders as opened and locked: the run
  // waited for may have made the keys, and a folder renamed meanwhile is not followed.
  OutputFolders folders(jobs, OutputFolders::Create::kYes);
  lock_output_dirs(folders, opt.no_wait ? LockWait::kNoWait : LockWait::kWait,
                   [](const std::filesystem::path& dir) {
                     std::cerr << "poolcert: waiting for another poolcert run on " << dir.string()
                               << " to finish\n"
                               << std::flush;
                   });
  jobs = plan_jobs(specs, plan_options, &folders);
  if (!run_options.passphrase && jobs_need_passphrase(jobs, run_options)) {
    run_options.passphrase = read_passphrase(opt.passphrase, "Key passphrase: ", true);
  }
  std::vector<FileWarning> warnings = folders.warnings();
  for (FileWarning& w : check_jobs(jobs, run_options)) warnings.push_back(std::move(w));
  print_file_warnings(std::cerr, warnings);

  std::mutex progress_mutex;
  if (!opt.json && stderr_is_terminal()) {
    run_options.progress = [&progress_mutex](std::size_t done, std::size_t total) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      std::cerr << "\rpoolcert: " << done << "/" << total << " servers done" << std::flush;
      if (done == total) std::cerr << "\r\033[K" << std::flush;
    };
  }
  std::vector<ServerResult> results = run_jobs(jobs, run_options);
  if (run_options.passphrase)
    OPENSSL_cleanse(run_options.passphrase->data(), run_options.passphrase->size());

  if (opt.json) {
    print_json(std::cout, csr_json(jobs, results, warnings));
  } else {
    print_csr_results(std::cout, jobs, results, use_colour());
  }
  bool failed =
      std::any_of(results.begin(), results.end(), [](const ServerResult& r) { return !r.ok; });
  return failed ? Outcome::kFailed : Outcome::kOk;
}

}  // namespace

void setup_csr(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<CsrCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "csr", "Write <server>.key (kept if present) and a fresh <server>.csr for every server");
  cmd->add_option("SPEC", opt->specs, "pool spec (TOML)")->required();
  cmd->add_option("-o,--output-dir", opt->output_dir, "output folder (replaces the spec's)");
  cmd->add_option("--server", opt->servers, "only this server (repeatable)")->type_name("FQDN");
  cmd->add_option("--jobs,-j", opt->jobs, "parallel workers (default: the number of cores)")
      ->check(CLI::Range(1u, 256u));
  cmd->add_flag("--rekey", opt->rekey,
                "make new keys; each old key is kept as <server>.key.<UTC time>.bak");
  cmd->add_flag("--encrypt-key", opt->encrypt_key,
                "encrypt new keys (PKCS#8, AES-256) under the passphrase");
  cmd->add_flag("--no-wait", opt->no_wait,
                "when another poolcert run is writing in an output folder, exit 1 at once "
                "instead of waiting for it");
  add_follow_key_symlinks_flag(*cmd, opt->follow_key_symlinks);
  add_passphrase_options(*cmd, opt->passphrase);
  cmd->add_option("--format", opt->format,
                  "pem: key and CSR here; inf: a certreq INF per server, the key made on Windows")
      ->check(CLI::IsMember({"pem", "inf"}));
  cmd->add_flag("--json", opt->json, "machine-readable summary on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_csr(*opt); }; });
}

}  // namespace poolcert::cli
