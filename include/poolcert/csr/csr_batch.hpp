// The main job: a key and a CSR for every server of one or more specs, planned first (nothing
// written), then carried out in parallel with results in spec order.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/layout.hpp"
#include "poolcert/model/spec.hpp"
#include "poolcert/sys/file_io.hpp"

namespace poolcert {

// What happens to a server's key.
enum class KeyAction {
  kCreate,  // no key yet: make one
  kReuse,   // a key exists: keep it, make a fresh CSR from it
  kRekey,   // a key exists and --rekey: move it aside as .bak, make a new one
};

const char* key_action_name(KeyAction action) noexcept;  // "create", "reuse", "rekey"

// ServerJob is one certificate of one server, planned: where its files go and what happens to
// its key. It points into the specs given to plan_jobs, which must outlive it, and derives the
// certificate plan when asked: a job stays a few dozen bytes, so a pool of thousands of
// servers is planned and run in memory that does not grow with the plans.
struct ServerJob {
  const PoolSpec* spec = nullptr;
  const ServerSpec* server = nullptr;  // nullptr: a certificate the pool's members share
  const CertificateSpec* certificate = nullptr;
  bool encrypt_key = false;  // the spec's [key] encrypt, or --encrypt-key
  std::filesystem::path output_dir;
  // The open output folder every file operation of the job goes through: set by plan_jobs when
  // it is given the run's OutputFolders (nullptr before, or when the folder does not exist yet).
  const Folder* folder = nullptr;
  bool key_exists = false;
  KeyAction action = KeyAction::kCreate;

  // plan derives the certificate plan (derive_plan; cheap next to making a key). Throws
  // SpecError as derive_plan does, which plan_jobs has already ruled out.
  CertificatePlan plan() const;
  // The server, or the pool for a shared certificate: the name its files carry.
  const std::string& server_fqdn() const {
    return server != nullptr ? server->fqdn : spec->pool_fqdn;
  }
  bool shared() const { return server == nullptr; }
  std::string key_name() const;            // <stem>.key
  std::string csr_name() const;            // <stem>.csr
  std::filesystem::path key_path() const;  // output_dir/<stem>.key, for messages
  std::filesystem::path csr_path() const;  // output_dir/<stem>.csr, for messages
};

// OutputFolders are the output folders of a run's jobs, open (Folder), each once however it is
// spelled (by device and inode), and judged by folder_safety. Move-only; the Folders stay where
// they are, so the jobs' pointers to them stay valid.
class OutputFolders {
 public:
  enum class Create {
    kNo,   // open the folders that exist; check that the others can be made (check_can_create)
    kYes,  // make the missing ones (0700) first
  };
  // Opens the output folder of every job. Throws Error (kBadInput) for a folder another user can
  // change (folder_safety: unsafe), IoError (kBadInput) for one that cannot be opened or made.
  OutputFolders(const std::vector<ServerJob>& jobs, Create create);

  // The open folder for `output_dir` as a job spells it; nullptr when it does not exist (kNo).
  const Folder* find(const std::filesystem::path& output_dir) const;
  // Every open folder, once.
  std::vector<Folder*> all() const;
  // What folder_safety warned about (a sticky folder others can write), in job order.
  const std::vector<FileWarning>& warnings() const { return warnings_; }

 private:
  std::vector<std::unique_ptr<Folder>> folders_;
  std::map<std::filesystem::path, const Folder*> by_path_;
  std::vector<FileWarning> warnings_;
};

// PlanOptions are the command line's say over the specs.
struct PlanOptions {
  std::optional<std::filesystem::path> output_dir;  // -o: replaces every spec's output_dir
  std::vector<std::string> servers;                 // --server: only these (validated names)
  bool rekey = false;
  bool encrypt_keys = false;  // --encrypt-key: as if every spec said [key] encrypt = true
};

// plan_jobs lists the jobs of `specs` in spec order: per spec, one job per shared certificate
// (the pool's: `<pool>.<certificate>`), then one per server and certificate of its own. Writes
// nothing. A --server keeps the jobs of that server and the shared ones of its pool (the pool
// FQDN names those alone); --rekey rekeys a shared key only for the whole pool (no --server, or
// the pool FQDN): a run for some members reuses the key every member uses. With `folders`, each
// job's folder is set and what exists is looked at through it; without, through the paths.
// Throws UsageError when a --server names no server or pool of any spec, or when two specs would
// write the same files (one folder under two spellings, a bind mount included, is one folder);
// BadFileError when something other than a file is where a key goes, or when a key is missing
// but a backup an unfinished --rekey made of it is there (without --rekey).
std::vector<ServerJob> plan_jobs(const std::vector<PoolSpec>& specs, const PlanOptions& options,
                                 const OutputFolders* folders = nullptr);

// RunOptions say how to carry out the jobs.
struct RunOptions {
  unsigned jobs = 1;                      // threads making keys and requests (the CPU work)
  std::optional<std::string> passphrase;  // for encrypted keys, new or existing
  // --follow-key-symlinks: an existing key that is a symbolic link is used (refused otherwise).
  bool follow_key_symlinks = false;
  // Called as servers finish (after each batch the writer puts on disk), from the writer
  // thread, with (done, total). Must be thread-safe; may be empty.
  std::function<void(std::size_t, std::size_t)> progress;
};

// ServerResult is what happened to one job.
struct ServerResult {
  bool ok = false;
  std::string error;  // when !ok: one line
  KeyAction action = KeyAction::kCreate;
  std::optional<std::filesystem::path> key_backup;  // where --rekey moved the old key
  std::string spki_sha256;
};

// jobs_need_passphrase tells whether a passphrase will be needed: a new key to encrypt, or an
// existing encrypted key to reuse. Never throws (a key that cannot be read is check_jobs's to
// report).
bool jobs_need_passphrase(const std::vector<ServerJob>& jobs, const RunOptions& options);

// check_passphrase_given throws UsageError when a key of `jobs` is to be made encrypted and no
// passphrase was given. Reads and writes nothing: it can run before the output folders exist.
void check_passphrase_given(const std::vector<ServerJob>& jobs, const RunOptions& options);

// lock_output_dirs locks every folder of `folders` (lock_folders): csr runs on one folder take
// turns, so two runs never both make a server's key. Then it proves each can be written and
// removes the temporary files dead runs left there. Plan again once the locks are held: the run
// waited for may have made keys, and what to do with each key is decided from what exists.
// Throws IoError, FolderBusyError (kNoWait).
void lock_output_dirs(const OutputFolders& folders, LockWait wait,
                      const std::function<void(const std::filesystem::path&)>& on_wait);

// check_jobs is the preflight of run_jobs, through each job's folder: a passphrase is there when
// a key must be encrypted, and every existing key that will be reused is a regular file (not a
// symlink, unless options say so), owned by the user running poolcert, readable (with the
// passphrase) and the key type the spec asks for. Returns the warnings about those keys
// (key_permission_warning: group or others can read one), in job order. Throws (kBadInput) on
// the first problem; writes nothing.
std::vector<FileWarning> check_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options);

// write_inf_jobs writes `<stem>.inf` (certreq) for every job instead of a key and a CSR: no key
// is made. Returns the paths, in job order. Throws IoError, UsageError (a non-RSA key).
std::vector<std::filesystem::path> write_inf_jobs(const std::vector<ServerJob>& jobs);

// run_jobs carries out `jobs` (planned with the locked OutputFolders, after check_jobs):
// options.jobs threads make the keys and
// requests, one writer thread puts them on disk in batches (each file durable before its name
// appears, see sync_staged; each folder fsynced once at the end, before the results are
// returned). Never throws for one
// server's failure: it is in that server's result. Results are in the order of `jobs`.
std::vector<ServerResult> run_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options);

}  // namespace poolcert
