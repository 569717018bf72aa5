#include "poolcert/csr_batch.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <set>
#include <thread>

#include <openssl/crypto.h>

#include "bounded_queue.hpp"
#include "poolcert/certreq_inf.hpp"
#include "poolcert/csr.hpp"
#include "poolcert/error.hpp"
#include "poolcert/file_io.hpp"
#include "poolcert/key.hpp"
#include "poolcert/parallel.hpp"

namespace poolcert {
namespace fs = std::filesystem;
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCsrMode = 0644;  // a CSR holds only public data
// The most jobs the writer puts on disk with one flush (sync_staged). Bigger batches save little
// more and hold more keys in memory.
constexpr std::size_t kBatch = 64;
// How long the writer waits for a batch to fill before it writes what it has. Fast keys (ECDSA)
// fill a batch well within it; slow ones (RSA, seconds for 4096 bits) are written one by one.
constexpr std::chrono::milliseconds kBatchLinger{50};

// Prepared is one server's work done in memory by a key worker, for a writer to put on disk.
struct Prepared {
  std::size_t index = 0;
  std::string key_pem;  // the new key (create, rekey); empty when reusing
  std::string csr_pem;
  std::string spki_sha256;
  std::string error;  // preparing failed: nothing to write
};

// The request of `key` for `job`, encoded, with its key's fingerprint.
void make_request(const CertificatePlan& plan, EVP_PKEY* key, Prepared& out) {
  ossl::UniquePtr<X509_REQ> req = build_csr(plan, key);
  out.csr_pem = encode_csr_pem(req.get());
  out.spki_sha256 = spki_sha256(X509_REQ_get_X509_PUBKEY(req.get()));  // no encoder set-up
}

// The CPU half of a job: the key (made or read) and its request, nothing written.
Prepared prepare(const ServerJob& job, std::size_t index, const RunOptions& options) {
  Prepared out;
  out.index = index;
  try {
    const CertificatePlan plan = job.plan();
    ossl::UniquePtr<EVP_PKEY> key;
    if (job.action == KeyAction::kReuse) {
      key = read_private_key(job.key_path(), options.passphrase);
    } else {
      key = generate_key(plan.key);
      std::optional<std::string> passphrase;
      if (plan.key.encrypt) passphrase = options.passphrase;
      out.key_pem = encode_private_key(key.get(), passphrase);
    }
    make_request(plan, key.get(), out);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

// A job's new files, written to temporary files by stage(), durable after sync_staged, put in
// place by install_job().
struct StagedJob {
  std::optional<StagedFile> key;  // create, rekey
  std::optional<StagedFile> csr;
};

// The disk half of a job, step 1: its new key and request in temporary files, nothing in place.
void stage(const ServerJob& job, const Prepared& work, StagedJob& staged) {
  if (job.action != KeyAction::kReuse) staged.key.emplace(job.key_path(), work.key_pem, kKeyMode);
  staged.csr.emplace(job.csr_path(), work.csr_pem, kCsrMode);
}

// Step 3, once the staged files are durable: put them in place, the key before its request.
// Folder entries are made durable later, once per folder (sync_written_folders).
void install_job(const ServerJob& job, Prepared& work, StagedJob& staged, const RunOptions& options,
                 ServerResult& result) {
  if (staged.key) {
    // The old CSR goes first: a kill at any later point leaves a key without a CSR (the next run
    // makes it) but never a new key beside a CSR of the old one.
    remove_file(job.csr_path());
    if (job.action == KeyAction::kRekey) {
      result.key_backup = move_aside(job.key_path(), "." + utc_timestamp() + ".bak");
    }
    try {
      staged.key->install(Existing::kKeep);
    } catch (const FileExistsError&) {
      // Another run installed a key first: that key is the one to use, never a second one, and
      // the staged request (of our key) is thrown away.
      result.action = KeyAction::kReuse;
      ossl::UniquePtr<EVP_PKEY> theirs = read_private_key(job.key_path(), options.passphrase);
      make_request(job.plan(), theirs.get(), work);
      write_file_atomic(job.csr_path(), work.csr_pem, kCsrMode, Existing::kReplace,
                        FolderSync::kLater);
      staged.csr.reset();
    }
  }
  if (staged.csr) staged.csr->install(Existing::kReplace);
  result.spki_sha256 = work.spki_sha256;
  result.ok = true;
}

// Puts a batch of prepared jobs on disk: every file staged, all made durable together (one disk
// flush for the batch where the file system allows it), then installed in order. A job that
// fails is reported as failed; the others go on.
void commit_batch(const std::vector<ServerJob>& jobs, std::vector<Prepared>& batch,
                  const RunOptions& options, std::vector<ServerResult>& results) {
  std::vector<StagedJob> staged(batch.size());
  std::vector<StagedFile*> files;
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const Prepared& work = batch[b];
    ServerResult& result = results[work.index];
    result.action = jobs[work.index].action;
    if (!work.error.empty()) {
      result.error = work.error;
      continue;
    }
    try {
      stage(jobs[work.index], work, staged[b]);
      for (auto* f : {&staged[b].key, &staged[b].csr}) {
        if (*f) files.push_back(&**f);
      }
    } catch (const std::exception& e) {
      result.error = e.what();
      staged[b] = {};
    }
  }
  try {
    sync_staged(files);
  } catch (const std::exception& e) {
    for (std::size_t b = 0; b < batch.size(); ++b) {
      if (staged[b].csr) results[batch[b].index].error = e.what();
    }
    staged.clear();  // removes every temporary file: nothing of the batch is put in place
  }
  for (std::size_t b = 0; b < staged.size(); ++b) {
    if (!staged[b].csr) continue;
    Prepared& work = batch[b];
    try {
      install_job(jobs[work.index], work, staged[b], options, results[work.index]);
    } catch (const std::exception& e) {
      results[work.index].error = e.what();
    }
  }
  for (Prepared& work : batch) {
    OPENSSL_cleanse(work.key_pem.data(), work.key_pem.size());  // no key text left in freed memory
  }
}

// Makes every written folder entry durable; a folder that cannot be synced fails its servers.
void sync_written_folders(const std::vector<ServerJob>& jobs, std::vector<ServerResult>& results) {
  std::map<fs::path, std::string> failed;  // folder -> error
  std::set<fs::path> synced;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const fs::path& dir = jobs[i].output_dir;
    if (!results[i].ok || synced.count(dir) != 0 || failed.count(dir) != 0) continue;
    try {
      sync_folder(dir.empty() ? fs::path(".") : dir);
      synced.insert(dir);
    } catch (const std::exception& e) {
      failed.emplace(dir, e.what());
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto it = failed.find(jobs[i].output_dir);
    if (it == failed.end() || !results[i].ok) continue;
    results[i].ok = false;
    results[i].error = it->second;
  }
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

CertificatePlan ServerJob::plan() const {
  CertificatePlan plan = derive_plan(*spec, server, *certificate);
  plan.key.encrypt = encrypt_key;
  return plan;
}

fs::path ServerJob::key_path() const {
  return output_dir / (output_stem(server_fqdn(), certificate->name) + ".key");
}

fs::path ServerJob::csr_path() const {
  return output_dir / (output_stem(server_fqdn(), certificate->name) + ".csr");
}

namespace {

// One job, planned: where its files go and what happens to its key. Throws UsageError /
// BadFileError for a key file no job may write.
ServerJob plan_job(const PoolSpec& spec, const ServerSpec* server, const CertificateSpec& cert,
                   const PlanOptions& options, bool may_rekey,
                   std::map<fs::path, fs::path>& writer_of) {
  ServerJob job;
  job.spec = &spec;
  job.server = server;
  job.certificate = &cert;
  // Derived once here so that a spec whose names cannot be derived fails at planning.
  job.encrypt_key = derive_plan(spec, server, cert).key.encrypt || options.encrypt_keys;
  job.output_dir = options.output_dir.value_or(spec.output_dir);
  fs::path key_path = job.key_path();
  const std::string& who = job.server_fqdn();
  if (key_path.filename().string().size() > NAME_MAX) {
    throw UsageError("server " + who + " of " + spec.file.string() + ": its key's file name, " +
                     key_path.filename().string() + ", is over " + std::to_string(NAME_MAX) +
                     " bytes, more than a file system takes");
  }
  // One folder under two spellings ("out", "/abs/out", a symlink to it) is one folder.
  std::error_code canonical_ec;
  fs::path same = fs::weakly_canonical(key_path, canonical_ec);
  if (canonical_ec) same = fs::absolute(key_path).lexically_normal();
  auto [it, fresh] = writer_of.emplace(same, spec.file);
  if (!fresh) {
    throw UsageError("server " + who + " of " + spec.file.string() + " and of " +
                     it->second.string() + " would both write " + key_path.string());
  }
  std::error_code ec;
  job.key_exists = fs::exists(fs::symlink_status(key_path, ec));
  // Where the key goes, anything but a file is refused before anything opens it: a pipe would
  // hang the run, and --rekey would remove the CSR before failing to move a folder aside. (A
  // folder where a CSR goes fails that server alone, at its rename.)
  fs::file_status st = fs::status(key_path, ec);
  if (fs::exists(st) && !fs::is_regular_file(st)) {
    throw BadFileError(key_path,
                       "is not a regular file (a folder, pipe or device where the key goes): "
                       "move it away");
  }
  job.action = !job.key_exists              ? KeyAction::kCreate
               : options.rekey && may_rekey ? KeyAction::kRekey
                                            : KeyAction::kReuse;
  return job;
}

}  // namespace

std::vector<ServerJob> plan_jobs(const std::vector<PoolSpec>& specs, const PlanOptions& options) {
  std::vector<ServerJob> jobs;
  std::set<std::string> wanted(options.servers.begin(), options.servers.end());
  std::set<std::string> found;
  std::map<fs::path, fs::path> writer_of;  // key path -> the spec that writes it
  for (const PoolSpec& spec : specs) {
    bool pool_named = wanted.count(spec.pool_fqdn) != 0;
    bool any_member = wanted.empty() || pool_named ||
                      std::any_of(spec.servers.begin(), spec.servers.end(),
                                  [&](const ServerSpec& s) { return wanted.count(s.fqdn) != 0; });
    for (const CertificateSpec& cert : spec.certificates) {
      if (!cert.profile.shared || !any_member) continue;
      if (pool_named) found.insert(spec.pool_fqdn);
      // Every member uses the pool's key: a run for some members (--server MEMBER) reuses it,
      // and only a run for the whole pool (no --server, or --server POOL) may rekey it.
      bool whole_pool = wanted.empty() || pool_named;
      jobs.push_back(plan_job(spec, nullptr, cert, options, whole_pool, writer_of));
    }
    for (const ServerSpec& server : spec.servers) {
      if (!wanted.empty() && wanted.count(server.fqdn) == 0) continue;
      found.insert(server.fqdn);
      for (const CertificateSpec& cert : spec.certificates) {
        if (!cert.profile.shared) {
          jobs.push_back(plan_job(spec, &server, cert, options, true, writer_of));
        }
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
    if (job.encrypt_key && job.action != KeyAction::kReuse && !options.passphrase) {
      throw UsageError("the key of " + job.server_fqdn() +
                       " is to be encrypted: give --passphrase-file or --passphrase-env");
    }
  }
}

void check_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  // Keys and passphrases first: a bad one must leave the disk exactly as it was.
  check_passphrase_given(jobs, options);
  for (const ServerJob& job : jobs) {
    if (job.action != KeyAction::kReuse) continue;
    ossl::UniquePtr<EVP_PKEY> key = read_private_key(job.key_path(), options.passphrase);
    KeyFacts facts = key_facts(key.get());
    const KeySpec wanted = job.plan().key;
    if (!matches_spec(facts, wanted)) {
      throw BadFileError(job.key_path(), "the existing key is " + describe_facts(facts) +
                                             " but the spec asks for " + describe_key(wanted) +
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
    if (auto w = check_key_permissions(job.key_path())) warnings.push_back(std::move(*w));
  }
  return warnings;
}

std::vector<fs::path> write_inf_jobs(const std::vector<ServerJob>& jobs) {
  std::vector<std::string> texts;  // all made first: a bad key type writes nothing
  for (const ServerJob& job : jobs) texts.push_back(certreq_inf(job.plan()));
  std::set<fs::path> dirs;
  for (const ServerJob& job : jobs) {
    if (dirs.insert(job.output_dir).second) prepare_output_dir(job.output_dir);
  }
  std::vector<fs::path> paths;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    fs::path inf = jobs[i].output_dir /
                   (output_stem(jobs[i].server_fqdn(), jobs[i].certificate->name) + ".inf");
    write_file_atomic(inf, texts[i], 0644, Existing::kReplace);
    paths.push_back(std::move(inf));
  }
  return paths;
}

std::vector<ServerResult> run_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  std::vector<ServerResult> results(jobs.size());
  if (jobs.empty()) return results;
  // Bounded: memory stays flat in the pool's size. Twice a batch: the key workers go on while
  // the writer waits for the disk.
  BoundedQueue<Prepared> ready(2 * kBatch);
  // One writer: while it waits for the disk, prepared jobs pile up into its next batch.
  std::thread writer([&] {
    std::size_t finished = 0;
    for (std::vector<Prepared> batch; !(batch = ready.pop_batch(kBatch, kBatchLinger)).empty();) {
      commit_batch(jobs, batch, options, results);
      finished += batch.size();
      if (options.progress) options.progress(finished, jobs.size());
    }
  });
  // The calling thread makes keys too. prepare() reports a job's failure in its result; should
  // anything else throw (no memory), the writer still puts in place what was made, and stops.
  try {
    parallel_for(jobs.size(), options.jobs,
                 [&](std::size_t i) { ready.push(prepare(jobs[i], i, options)); });
  } catch (...) {
    ready.close();
    writer.join();
    throw;
  }
  ready.close();
  writer.join();
  sync_written_folders(jobs, results);
  return results;
}

}  // namespace poolcert
