#include "poolcert/csr_batch.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "poolcert/certreq_inf.hpp"
#include "poolcert/csr.hpp"
#include "poolcert/error.hpp"
#include "poolcert/file_io.hpp"
#include "poolcert/key.hpp"

namespace poolcert {
namespace fs = std::filesystem;
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCsrMode = 0644;  // a CSR holds only public data

// Makes a new key and installs it without ever replacing one. When another run installed a key
// first, that key is the one to use: it is read back and the job becomes a reuse.
ossl::UniquePtr<EVP_PKEY> install_new_key(const ServerJob& job, const RunOptions& options,
                                          ServerResult& result) {
  const KeySpec& spec = job.plan.key;
  ossl::UniquePtr<EVP_PKEY> key = generate_key(spec);
  std::optional<std::string> passphrase;
  if (spec.encrypt) passphrase = options.passphrase;
  try {
    write_file_atomic(job.key_path, encode_private_key(key.get(), passphrase), kKeyMode,
                      Existing::kKeep);
  } catch (const FileExistsError&) {
    result.action = KeyAction::kReuse;
    return read_private_key(job.key_path, options.passphrase);
  }
  return key;
}

ServerResult run_one(const ServerJob& job, const RunOptions& options) {
  ServerResult result;
  result.action = job.action;
  try {
    ossl::UniquePtr<EVP_PKEY> key;
    if (job.action == KeyAction::kReuse) {
      key = read_private_key(job.key_path, options.passphrase);
    } else {
      // The old CSR goes first: a kill at any later point leaves a key without a CSR (the next
      // run makes it) but never a new key beside a CSR of the old one.
      remove_file(job.csr_path);
      if (job.action == KeyAction::kRekey) {
        result.key_backup = move_aside(job.key_path, "." + utc_timestamp() + ".bak");
      }
      key = install_new_key(job, options, result);
    }
    ossl::UniquePtr<X509_REQ> req = build_csr(job.plan, key.get());
    write_file_atomic(job.csr_path, encode_csr_pem(req.get()), kCsrMode, Existing::kReplace);
    result.spki_sha256 = spki_sha256(X509_REQ_get_X509_PUBKEY(req.get()));  // no encoder set-up
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

}  // namespace

std::string output_stem(const std::string& server_fqdn, const std::string& certificate) {
  return certificate.empty() ? server_fqdn : server_fqdn + "." + certificate;
}

const char* key_action_name(KeyAction action) noexcept {
  switch (action) {
    case KeyAction::kCreate:
      return "create";
    case KeyAction::kReuse:
      return "reuse";
    case KeyAction::kRekey:
      return "rekey";
  }
  return "?";
}

std::vector<ServerJob> plan_jobs(const std::vector<PoolSpec>& specs, const PlanOptions& options) {
  std::vector<ServerJob> jobs;
  std::set<std::string> wanted(options.servers.begin(), options.servers.end());
  std::set<std::string> found;
  std::map<fs::path, fs::path> writer_of;  // key path -> the spec that writes it
  for (const PoolSpec& spec : specs) {
    for (const ServerSpec& server : spec.servers) {
      if (!wanted.empty() && wanted.count(server.fqdn) == 0) continue;
      found.insert(server.fqdn);
      for (const CertificateSpec& cert : spec.certificates) {
        ServerJob job;
        job.spec_file = spec.file;
        job.profile = cert.profile.name;
        job.plan = derive_plan(spec, server, cert);
        job.plan.key.encrypt = job.plan.key.encrypt || options.encrypt_keys;
        job.output_dir = options.output_dir.value_or(spec.output_dir);
        std::string stem = output_stem(server.fqdn, cert.name);
        job.key_path = job.output_dir / (stem + ".key");
        job.csr_path = job.output_dir / (stem + ".csr");
        auto [it, fresh] = writer_of.emplace(job.key_path.lexically_normal(), spec.file);
        if (!fresh) {
          throw UsageError("server " + server.fqdn + " of " + spec.file.string() + " and of " +
                           it->second.string() + " would both write " + job.key_path.string());
        }
        std::error_code ec;
        job.key_exists = fs::exists(fs::symlink_status(job.key_path, ec));
        job.action = !job.key_exists ? KeyAction::kCreate
                     : options.rekey ? KeyAction::kRekey
                                     : KeyAction::kReuse;
        jobs.push_back(std::move(job));
      }
    }
  }
  for (const std::string& name : wanted) {
    if (found.count(name) == 0) {
      std::string listed;
      for (const PoolSpec& spec : specs) {
        for (const ServerSpec& s : spec.servers) listed += (listed.empty() ? "" : ", ") + s.fqdn;
      }
      throw UsageError("--server " + name + ": no such server in the spec (servers: " + listed +
                       ")");
    }
  }
  return jobs;
}

void check_passphrase_given(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  for (const ServerJob& job : jobs) {
    if (job.plan.key.encrypt && job.action != KeyAction::kReuse && !options.passphrase) {
      throw UsageError("the key of " + job.plan.server_fqdn +
                       " is to be encrypted: give --passphrase-file or --passphrase-env");
    }
  }
}

void check_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  // Keys and passphrases first: a bad one must leave the disk exactly as it was.
  check_passphrase_given(jobs, options);
  for (const ServerJob& job : jobs) {
    if (job.action != KeyAction::kReuse) continue;
    ossl::UniquePtr<EVP_PKEY> key = read_private_key(job.key_path, options.passphrase);
    KeyFacts facts = key_facts(key.get());
    if (!matches_spec(facts, job.plan.key)) {
      throw BadFileError(job.key_path, "the existing key is " + describe_facts(facts) +
                                           " but the spec asks for " + describe_key(job.plan.key) +
                                           "; it is kept: use --rekey to replace it (the old key "
                                           "is moved aside as .bak)");
    }
  }
  std::set<fs::path> dirs;
  for (const ServerJob& job : jobs) {
    if (dirs.insert(job.output_dir).second) {
      prepare_output_dir(job.output_dir);
      remove_stale_temps(job.output_dir);
    }
  }
}

std::vector<FolderLock> lock_output_dirs(const std::vector<ServerJob>& jobs, LockWait wait,
                                         const std::function<void(const fs::path&)>& on_wait) {
  std::vector<fs::path> dirs;
  for (const ServerJob& job : jobs) {
    if (std::find(dirs.begin(), dirs.end(), job.output_dir) != dirs.end()) continue;
    make_output_dir(job.output_dir);  // a folder must exist to be locked
    dirs.push_back(job.output_dir);
  }
  return lock_folders(dirs, wait, on_wait);
}

std::vector<FileWarning> key_permission_warnings(const std::vector<ServerJob>& jobs) {
  std::vector<FileWarning> warnings;
  for (const ServerJob& job : jobs) {
    if (job.action != KeyAction::kReuse) continue;  // a key made now is 0600
    if (auto w = check_key_permissions(job.key_path)) warnings.push_back(std::move(*w));
  }
  return warnings;
}

std::vector<fs::path> write_inf_jobs(const std::vector<ServerJob>& jobs) {
  std::vector<std::string> texts;  // all made first: a bad key type writes nothing
  for (const ServerJob& job : jobs) texts.push_back(certreq_inf(job.plan));
  std::set<fs::path> dirs;
  for (const ServerJob& job : jobs) {
    if (dirs.insert(job.output_dir).second) prepare_output_dir(job.output_dir);
  }
  std::vector<fs::path> paths;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    fs::path inf = jobs[i].output_dir /
                   (output_stem(jobs[i].plan.server_fqdn, jobs[i].plan.certificate) + ".inf");
    write_file_atomic(inf, texts[i], 0644, Existing::kReplace);
    paths.push_back(std::move(inf));
  }
  return paths;
}

std::vector<ServerResult> run_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  std::vector<ServerResult> results(jobs.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      results[i] = run_one(jobs[i], options);
      std::size_t finished = ++done;
      if (options.progress) options.progress(finished, jobs.size());
    }
  };
  unsigned threads = static_cast<unsigned>(
      std::max<std::size_t>(1, std::min<std::size_t>(options.jobs, jobs.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();  // the calling thread works too
  for (std::thread& t : pool) t.join();
  return results;
}

}  // namespace poolcert
