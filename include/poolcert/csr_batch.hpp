// The main job: a key and a CSR for every server of one or more specs, planned first (nothing
// written), then carried out in parallel with results in spec order.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "poolcert/derive.hpp"
#include "poolcert/file_io.hpp"
#include "poolcert/spec.hpp"

namespace poolcert {

// What happens to a server's key.
enum class KeyAction {
  kCreate,  // no key yet: make one
  kReuse,   // a key exists: keep it, make a fresh CSR from it
  kRekey,   // a key exists and --rekey: move it aside as .bak, make a new one
};

const char* key_action_name(KeyAction action) noexcept;  // "create", "reuse", "rekey"

// output_stem names a certificate's files: "<server>" for a spec without [[certificate]],
// "<server>.<certificate>" otherwise (then .key, .csr, .inf, .pfx).
std::string output_stem(const std::string& server_fqdn, const std::string& certificate);

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
  std::filesystem::path key_path() const;  // output_dir/<stem>.key
  std::filesystem::path csr_path() const;  // output_dir/<stem>.csr
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
// the pool FQDN): a run for some members reuses the key every member uses. Throws UsageError when a
// --server names no server or pool of any spec, or when two specs would write the same files.
std::vector<ServerJob> plan_jobs(const std::vector<PoolSpec>& specs, const PlanOptions& options);

// RunOptions say how to carry out the jobs.
struct RunOptions {
  unsigned jobs = 1;                      // threads making keys and requests (the CPU work)
  std::optional<std::string> passphrase;  // for encrypted keys, new or existing
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

// check_passphrase_given throws UsageError when a key of `jobs` is to be made encrypted and no
// passphrase was given. Reads and writes nothing: it can run before the output folders exist.
void check_passphrase_given(const std::vector<ServerJob>& jobs, const RunOptions& options);

// lock_output_dirs makes every output folder of `jobs` (new ones 0700) and locks them all
// (lock_folders): csr runs on one folder take turns, so two runs never both make a server's key.
// Plan again once the locks are held: the run waited for may have made keys, and what to do with
// each key is decided from what exists. Throws IoError, FolderBusyError (kNoWait).
std::vector<FolderLock> lock_output_dirs(
    const std::vector<ServerJob>& jobs, LockWait wait,
    const std::function<void(const std::filesystem::path&)>& on_wait);

// key_permission_warnings lists the existing keys `jobs` will reuse that group or others can
// read (check_key_permissions), in job order. Never throws.
std::vector<FileWarning> key_permission_warnings(const std::vector<ServerJob>& jobs);

// check_jobs is the preflight of run_jobs: every output folder can be written, every existing
// key that will be reused can be read (with the passphrase) and is the key type the spec asks
// for, and a passphrase is there when a key must be encrypted. Throws (kBadInput) on the first
// problem; writes nothing but the folders themselves.
void check_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options);

// write_inf_jobs writes `<stem>.inf` (certreq) for every job instead of a key and a CSR: no key
// is made. Returns the paths, in job order. Throws IoError, UsageError (a non-RSA key).
std::vector<std::filesystem::path> write_inf_jobs(const std::vector<ServerJob>& jobs);

// run_jobs carries out `jobs` (after check_jobs): options.jobs threads make the keys and
// requests, one writer thread puts them on disk in batches (each file durable before its name
// appears, see sync_staged; each folder fsynced once at the end, before the results are
// returned). Never throws for one
// server's failure: it is in that server's result. Results are in the order of `jobs`.
std::vector<ServerResult> run_jobs(const std::vector<ServerJob>& jobs, const RunOptions& options);

}  // namespace poolcert
