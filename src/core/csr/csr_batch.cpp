#include "poolcert/csr/csr_batch.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/sys/parallel.hpp"
#include "poolcert/x509/certreq_inf.hpp"
#include "poolcert/x509/csr.hpp"
#include "poolcert/x509/key.hpp"
#include "sys/bounded_queue.hpp"

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

// The folder of a job that writes: plan_jobs set it from the run's locked folders.
const Folder& folder_of(const ServerJob& job) {
  if (job.folder == nullptr) throw std::logic_error("a csr job run without its open folder");
  return *job.folder;
}

// An existing key of a job, read through its folder, and that file's fstat.
struct ExistingKey {
  ossl::UniquePtr<EVP_PKEY> key;
  struct stat status {};
};

// Reads the key at the job's key name in its folder and checks what every key poolcert reuses
// must be: a regular file (a symlink only with --follow-key-symlinks), owned by the user running
// poolcert (another user could read or replace it), and the key type the spec asks for. Throws
// SymlinkError, BadFileError (kBadInput) naming the file, with `kept` saying what becomes of it.
ExistingKey read_existing_key(const ServerJob& job, const RunOptions& options,
                              const std::string& kept) {
  const Folder& folder = folder_of(job);
  InputFile file =
      read_file_at(folder, job.key_name(),
                   options.follow_key_symlinks ? Symlinks::kFollow : Symlinks::kRefuse, 1 << 20);
  ExistingKey existing;
  existing.status = file.status;
  try {
    if (file.status.st_uid != ::geteuid()) {
      throw BadFileError(job.key_path(), "is owned by uid " + std::to_string(file.status.st_uid) +
                                             ", not by the user running poolcert (uid " +
                                             std::to_string(::geteuid()) +
                                             "): that user can read or replace it; " + kept);
    }
    existing.key = parse_private_key(file.data, job.key_path(), options.passphrase);
  } catch (...) {
    OPENSSL_cleanse(file.data.data(), file.data.size());
    throw;
  }
  OPENSSL_cleanse(file.data.data(), file.data.size());
  KeyFacts facts = key_facts(existing.key.get());
  const KeySpec wanted = job.plan().key;
  if (!matches_spec(facts, wanted)) {
    throw BadFileError(job.key_path(), "the existing key is " + describe_facts(facts) +
                                           " but the spec asks for " + describe_key(wanted) + "; " +
                                           kept);
  }
  return existing;
}

constexpr const char* kKeptForRekey =
    "it is kept: use --rekey to replace it (the old key is moved aside as .bak)";

// The CPU half of a job: the key (made or read) and its request, nothing written.
Prepared prepare(const ServerJob& job, std::size_t index, const RunOptions& options) {
  Prepared out;
  out.index = index;
  try {
    const CertificatePlan plan = job.plan();
    ossl::UniquePtr<EVP_PKEY> key;
    if (job.action == KeyAction::kReuse) {
      key = read_existing_key(job, options, kKeptForRekey).key;
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
  const Folder& folder = folder_of(job);
  if (job.action != KeyAction::kReuse) {
    staged.key.emplace(folder, job.key_name(), work.key_pem, kKeyMode);
  }
  staged.csr.emplace(folder, job.csr_name(), work.csr_pem, kCsrMode);
}

// A key that appeared at the job's key name while this run made one (not another poolcert run:
// they take turns on the folder; another program or user). It is used only if it passes every
// check a reused key passes and no one else could have read it; otherwise the server fails and
// the file is left for the user to look at. Returns its request.
void adopt_planted_key(const ServerJob& job, Prepared& work, const RunOptions& options,
                       const std::optional<fs::path>& backup) {
  std::string kept = "it was not used and is left as it is; nothing was written for this server";
  if (backup) kept += " (the old key is at " + backup->string() + ")";
  kept += ": move the file away and run csr again";
  const std::string appeared = "appeared while this run was making this server's key: ";
  ExistingKey theirs;
  try {
    theirs = read_existing_key(job, options, kept);
  } catch (const Error& e) {
    throw Error(ErrorKind::kOperation, job.key_path().string() + ": a key " + appeared + e.what());
  }
  if ((theirs.status.st_mode & 077) != 0) {
    throw Error(ErrorKind::kOperation, job.key_path().string() + ": a key " + appeared +
                                           "its mode is " + octal_mode(theirs.status.st_mode) +
                                           ", so others may have read it; " + kept);
  }
  make_request(job.plan(), theirs.key.get(), work);
}

// Step 3, once the staged files are durable: put them in place, the key before its request.
// Folder entries are made durable later, once per folder (sync_written_folders).
void install_job(const ServerJob& job, Prepared& work, StagedJob& staged, const RunOptions& options,
                 ServerResult& result) {
  const Folder& folder = folder_of(job);
  if (staged.key) {
    // The old CSR goes first: a kill at any later point leaves a key without a CSR (the next run
    // makes it) but never a new key beside a CSR of the old one.
    remove_file(folder, job.csr_name());
    if (job.action == KeyAction::kRekey) {
      result.key_backup = move_aside(folder, job.key_name(), "." + utc_timestamp() + ".bak");
    }
    try {
      staged.key->install(Existing::kKeep);
    } catch (const FileExistsError&) {
      // A key is there now: never replaced, and the staged request (of our key) is thrown away.
      adopt_planted_key(job, work, options, result.key_backup);
      result.action = KeyAction::kReuse;
      write_file_at(folder, job.csr_name(), work.csr_pem, kCsrMode, Existing::kReplace,
                    FolderSync::kLater);
      staged.csr.reset();
    } catch (const Error& e) {
      if (!result.key_backup) throw;
      // The old key is moved aside and the new one is not in place: say where the old one is,
      // and the next run will not make a new key silently while that backup is there.
      throw Error(e.kind(), std::string(e.what()) + "; the old key is at " +
                                result.key_backup->string() + ": put it back with mv " +
                                result.key_backup->string() + " " + job.key_path().string() +
                                ", or run csr --rekey again for a new key");
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
  std::map<const Folder*, std::string> failed;  // folder -> error
  std::set<const Folder*> synced;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Folder* folder = jobs[i].folder;
    if (!results[i].ok || synced.count(folder) != 0 || failed.count(folder) != 0) continue;
    try {
      folder->sync();
      synced.insert(folder);
    } catch (const std::exception& e) {
      failed.emplace(folder, e.what());
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto it = failed.find(jobs[i].folder);
    if (it == failed.end() || !results[i].ok) continue;
    results[i].ok = false;
    results[i].error = it->second;
  }
}

}  // namespace

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

std::string ServerJob::key_name() const {
  return output_file_name(server_fqdn(), certificate->name, OutputFile::kKey);
}

std::string ServerJob::csr_name() const {
  return output_file_name(server_fqdn(), certificate->name, OutputFile::kCsr);
}

fs::path ServerJob::key_path() const {
  return output_dir / key_name();
}

fs::path ServerJob::csr_path() const {
  return output_dir / csr_name();
}

OutputFolders::OutputFolders(const std::vector<ServerJob>& jobs, Create create) {
  std::map<std::pair<dev_t, ino_t>, const Folder*> by_identity;
  for (const ServerJob& job : jobs) {
    const fs::path& dir = job.output_dir;
    if (by_path_.count(dir) != 0) continue;
    if (create == Create::kYes) {
      make_output_dir(dir);
    } else {
      struct stat st {};
      if (::stat((dir.empty() ? fs::path(".") : dir).c_str(), &st) != 0 && errno == ENOENT) {
        check_can_create(dir);
        by_path_.emplace(dir, nullptr);
        continue;
      }
    }
    auto folder = std::make_unique<Folder>(dir);
    if (std::optional<FolderSafety> safety = folder_safety(dir, folder->status())) {
      if (safety->unsafe) throw Error(ErrorKind::kBadInput, safety->warning.message);
      warnings_.push_back(std::move(safety->warning));
    }
    // One folder under two spellings is one open folder: two would be two locks.
    auto [same, fresh] = by_identity.emplace(folder->identity(), folder.get());
    by_path_.emplace(dir, same->second);
    if (fresh) folders_.push_back(std::move(folder));
  }
}

const Folder* OutputFolders::find(const fs::path& output_dir) const {
  auto it = by_path_.find(output_dir);
  return it == by_path_.end() ? nullptr : it->second;
}

std::vector<Folder*> OutputFolders::all() const {
  std::vector<Folder*> out;
  for (const auto& f : folders_) out.push_back(f.get());
  return out;
}

namespace {

// The file names in `folder` that a --rekey made as backups of a key ("<key>.<UTC time>.bak",
// maybe with ".N" after it), as the names of those keys. Listed once per folder.
std::set<std::string> keys_with_backups(const Folder& folder) {
  std::set<std::string> keys;
  int dup = ::openat(folder.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* listing = dup < 0 ? nullptr : ::fdopendir(dup);
  if (listing == nullptr) {
    if (dup >= 0) ::close(dup);
    throw IoError(ErrorKind::kBadInput, folder.path(), "list", errno);
  }
  static const std::regex kBackup(R"((.+\.key)\.\d{8}T\d{6}Z\.bak(\.\d+)?)");
  std::cmatch m;
  while (const dirent* entry = ::readdir(listing)) {
    if (std::regex_match(entry->d_name, m, kBackup)) keys.insert(m[1].str());
  }
  ::closedir(listing);
  return keys;
}

// What plan_jobs learns once per output folder.
struct FolderFacts {
  FolderIdentity identity;          // the folder however spelled (bind mounts included)
  std::set<std::string> backed_up;  // keys with a --rekey backup (keys_with_backups)
};

// Looks at the output folder of `job` once: through its open folder when there is one.
const FolderFacts& facts_of(const ServerJob& job, std::map<fs::path, FolderFacts>& memo) {
  auto it = memo.find(job.output_dir);
  if (it != memo.end()) return it->second;
  FolderFacts facts;
  if (job.folder != nullptr) {
    facts.identity = {job.folder->identity().first, job.folder->identity().second, {}};
    facts.backed_up = keys_with_backups(*job.folder);
  } else {
    facts.identity = folder_identity(job.output_dir);
  }
  return memo.emplace(job.output_dir, std::move(facts)).first->second;
}

// What is at the job's key name now: lstat, through the open folder when there is one.
std::optional<struct stat> key_status(const ServerJob& job) {
  if (job.folder != nullptr) return stat_at(*job.folder, job.key_name());
  struct stat st {};
  if (::lstat(job.key_path().c_str(), &st) == 0) return st;
  if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
  throw IoError(ErrorKind::kBadInput, job.key_path(), "look at", errno);
}

// Whether a symlink at the job's key name leads to something other than a file.
bool link_leads_to_non_file(const ServerJob& job) {
  struct stat st {};
  int rc = job.folder != nullptr ? ::fstatat(job.folder->fd(), job.key_name().c_str(), &st, 0)
                                 : ::stat(job.key_path().c_str(), &st);
  return rc == 0 && !S_ISREG(st.st_mode);
}

// One job, planned: where its files go and what happens to its key. Throws UsageError /
// BadFileError for a key file no job may write.
ServerJob plan_job(const PoolSpec& spec, const ServerSpec* server, const CertificateSpec& cert,
                   const PlanOptions& options, const OutputFolders* folders, bool may_rekey,
                   std::map<fs::path, FolderFacts>& folder_facts,
                   std::map<std::pair<FolderIdentity, std::string>, fs::path>& writer_of) {
  ServerJob job;
  job.spec = &spec;
  job.server = server;
  job.certificate = &cert;
  // Derived once here so that a spec whose names cannot be derived fails at planning.
  job.encrypt_key = derive_plan(spec, server, cert).key.encrypt || options.encrypt_keys;
  job.output_dir = options.output_dir.value_or(spec.output_dir);
  if (folders != nullptr) job.folder = folders->find(job.output_dir);
  fs::path key_path = job.key_path();
  const std::string& who = job.server_fqdn();
  if (job.key_name().size() > NAME_MAX) {
    throw UsageError("server " + who + " of " + spec.file.string() + ": its key's file name, " +
                     job.key_name() + ", is over " + std::to_string(NAME_MAX) +
                     " bytes, more than a file system takes");
  }
  // One folder under two spellings ("out", "/abs/out", a symlink to it, a bind mount of it) is
  // one folder: folders are compared by device and inode.
  const FolderFacts& facts = facts_of(job, folder_facts);
  auto [it, fresh] = writer_of.emplace(std::make_pair(facts.identity, job.key_name()), spec.file);
  if (!fresh) {
    throw UsageError("server " + who + " of " + spec.file.string() + " and of " +
                     it->second.string() + " would both write " + key_path.string() +
                     " (one folder, however it is spelled)");
  }
  std::optional<struct stat> st = key_status(job);
  job.key_exists = st.has_value();
  // Where the key goes, anything but a file is refused before anything opens it: a pipe would
  // hang the run, and --rekey would remove the CSR before failing to move a folder aside. (A
  // folder where a CSR goes fails that server alone, at its rename.) A symlink is check_jobs's.
  if (st && !S_ISREG(st->st_mode) && (!S_ISLNK(st->st_mode) || link_leads_to_non_file(job))) {
    throw BadFileError(key_path,
                       "is not a regular file (a folder, pipe or device where the key goes): "
                       "move it away");
  }
  if (!st && !options.rekey && facts.backed_up.count(job.key_name()) != 0) {
    throw BadFileError(key_path,
                       "is missing, but a backup of it from --rekey is in the folder (" +
                           job.key_name() +
                           ".<UTC time>.bak): a --rekey that did not finish may have moved the "
                           "old key aside. To keep the old key (a CSR made from it may be at the "
                           "CA), put the newest backup back with mv; to make a new key, run csr "
                           "with --rekey (the backups are kept)");
  }
  job.action = !job.key_exists              ? KeyAction::kCreate
               : options.rekey && may_rekey ? KeyAction::kRekey
                                            : KeyAction::kReuse;
  return job;
}

}  // namespace

std::vector<ServerJob> plan_jobs(const std::vector<PoolSpec>& specs, const PlanOptions& options,
                                 const OutputFolders* folders) {
  std::vector<ServerJob> jobs;
  std::set<std::string> wanted(options.servers.begin(), options.servers.end());
  std::set<std::string> found;
  std::map<fs::path, FolderFacts> folder_facts;
  std::map<std::pair<FolderIdentity, std::string>, fs::path> writer_of;  // key -> spec writing it
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
      jobs.push_back(
          plan_job(spec, nullptr, cert, options, folders, whole_pool, folder_facts, writer_of));
    }
    for (const ServerSpec& server : spec.servers) {
      if (!wanted.empty() && wanted.count(server.fqdn) == 0) continue;
      found.insert(server.fqdn);
      for (const CertificateSpec& cert : spec.certificates) {
        if (!cert.profile.shared) {
          jobs.push_back(
              plan_job(spec, &server, cert, options, folders, true, folder_facts, writer_of));
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

bool jobs_need_passphrase(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  for (const ServerJob& job : jobs) {
    if (job.action != KeyAction::kReuse) {
      if (job.encrypt_key) return true;
      continue;
    }
    try {
      std::string pem =
          job.folder != nullptr
              ? read_file_at(*job.folder, job.key_name(),
                             options.follow_key_symlinks ? Symlinks::kFollow : Symlinks::kRefuse,
                             1 << 20)
                    .data
              : read_input_file(job.key_path(), 1 << 20);
      bool encrypted = pem_is_encrypted_key(pem);
      OPENSSL_cleanse(pem.data(), pem.size());
      if (encrypted) return true;
    } catch (const Error&) {
      // check_jobs reports it.
    }
  }
  return false;
}

void check_passphrase_given(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  for (const ServerJob& job : jobs) {
    if (job.encrypt_key && job.action != KeyAction::kReuse && !options.passphrase) {
      throw UsageError("the key of " + job.server_fqdn() +
                       " is to be encrypted: give --passphrase-file or --passphrase-env");
    }
  }
}

std::vector<FileWarning> check_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options) {
  // Keys and passphrases first: a bad one must leave the disk exactly as it was.
  check_passphrase_given(jobs, options);
  std::vector<FileWarning> warnings;
  for (const ServerJob& job : jobs) {
    if (job.action != KeyAction::kReuse) continue;  // a key made now is 0600
    ExistingKey existing = read_existing_key(job, options, kKeptForRekey);
    if (auto w = key_permission_warning(job.key_path(), existing.status)) {
      warnings.push_back(std::move(*w));
    }
  }
  return warnings;
}

void lock_output_dirs(const OutputFolders& folders, LockWait wait,
                      const std::function<void(const fs::path&)>& on_wait) {
  std::vector<Folder*> all = folders.all();
  lock_folders(all, wait, on_wait);
  for (Folder* folder : all) {
    check_writable(*folder);
    remove_stale_temps(*folder);
  }
}

std::vector<fs::path> write_inf_jobs(const std::vector<ServerJob>& jobs) {
  std::vector<std::string> texts;  // all made first: a bad key type writes nothing
  for (const ServerJob& job : jobs) texts.push_back(certreq_inf(job.plan()));
  std::set<fs::path> dirs;
  for (const ServerJob& job : jobs) {
    if (dirs.insert(job.output_dir).second) check_can_create(job.output_dir);
  }
  for (const fs::path& dir : dirs) prepare_output_dir(dir);  // every folder can be made: make them
  std::vector<fs::path> paths;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    fs::path inf =
        jobs[i].output_dir /
        output_file_name(jobs[i].server_fqdn(), jobs[i].certificate->name, OutputFile::kInf);
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
