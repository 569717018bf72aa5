// Files that must never be half-written: every output goes to a temporary file in the same
// folder, is fsynced, then renamed (or linked, when it must not replace anything) into place.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "poolcert/error.hpp"

namespace poolcert {

// read_input_file reads a whole input file (at most `max_bytes`), which must be a regular file:
// a FIFO, socket or device is refused without blocking (it is opened O_NONBLOCK). Throws IoError
// (kBadInput) when it cannot be read, BadFileError when it is a folder, not a regular file, or
// too large.
std::string read_input_file(const std::filesystem::path& file, std::size_t max_bytes = 16 << 20);

// How write_file_atomic treats an existing file at the destination.
enum class Existing {
  kReplace,  // atomically replace it (rename)
  kKeep,     // never touch it: throw FileExistsError (link, which fails with EEXIST)
};

// FileExistsError: write_file_atomic(kKeep) found the destination already there.
class FileExistsError : public std::runtime_error {
 public:
  explicit FileExistsError(const std::filesystem::path& p)
      : std::runtime_error(p.string() + ": already exists") {}
};

// When write_file_atomic makes the new folder entry durable.
enum class FolderSync {
  kNow,    // fsync the folder before returning
  kLater,  // the caller calls sync_folder before it reports the file written (a batch syncs
           // its folder once, not once per file)
};

// write_file_atomic writes `data` to `path` with permissions `mode` exactly (whatever the
// umask): temp file beside it (created 0600), write, fchmod, fsync, rename or link, and (kNow)
// fsync the folder. The file's data is on disk before its name points at it, whatever
// `folder_sync` says. On any failure the temp file is removed and the destination is as it was.
// Throws IoError (kOperation) or FileExistsError.
void write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode,
                       Existing existing, FolderSync folder_sync = FolderSync::kNow);

// StagedFile is a file's new content in a temporary file beside its destination (created 0600,
// written, given its final mode with fchmod whatever the umask), neither durable nor in place yet.
// A batch stages its files, makes them all durable at once (sync_staged), then installs each:
// every file's data is on disk before its name points at it, for one disk flush per batch
// instead of one per file. Destroying a StagedFile that was not installed removes its temporary
// file. Move-only.
class StagedFile {
 public:
  // Writes `data` to a new temporary file for `path`. Throws IoError (kOperation).
  StagedFile(std::filesystem::path path, std::string_view data, mode_t mode);
  ~StagedFile();
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

  // install puts the file in place: rename (kReplace) or link, which never replaces anything
  // (kKeep: throws FileExistsError when the destination is there). Its data must have been made
  // durable by sync_staged first (std::logic_error otherwise). The folder entry is durable only
  // once the folder is synced (sync_folder). Throws IoError (kOperation).
  void install(Existing existing);

 private:
  friend void sync_staged(const std::vector<StagedFile*>& files);
  void remove_temp() noexcept;

  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
  bool durable_ = false;
};

// sync_staged makes the data of every file in `files` durable. Files are grouped by file system;
// a group of kSyncfsBatch files or more on a file system whose syncfs(2) writes out every file's
// data and metadata and reports write errors (ext2/3/4, XFS, Btrfs and tmpfs, on Linux 5.8 or
// later) is synced with one syncfs; any other group with an fsync(2) of each file. syncfs also
// writes out other programs' pending data on that file system: the price of one flush for many
// files. Throws IoError (kOperation); then no file of the failed group is durable.
inline constexpr std::size_t kSyncfsBatch = 4;
void sync_staged(const std::vector<StagedFile*>& files);

// sync_folder fsyncs the folder `dir`, making the renames and links done in it durable. Throws
// IoError (kOperation).
void sync_folder(const std::filesystem::path& dir);

// move_aside renames `path` to a name that does not exist yet (`path` + suffix, then
// `path` + suffix + ".1", ...) without replacing anything, and returns the new name. Throws
// IoError (kOperation).
std::filesystem::path move_aside(const std::filesystem::path& path, const std::string& suffix);

// remove_file removes `path` if it is there and fsyncs its folder. Throws IoError (kOperation).
void remove_file(const std::filesystem::path& path);

// make_output_dir makes `dir` and its missing parents, each new folder 0700 whatever the umask
// (they will hold keys); folders already there are left as they are. Throws IoError (kBadInput).
void make_output_dir(const std::filesystem::path& dir);

// prepare_output_dir makes `dir` (make_output_dir) and proves it can be written by creating and
// removing a temporary file there. Throws IoError (kBadInput): nothing has been written yet when
// the folder is unusable.
void prepare_output_dir(const std::filesystem::path& dir);

// remove_stale_temps removes temporary files an earlier, killed poolcert run left in `dir`
// (those whose process is gone). Returns how many it removed. Never throws.
int remove_stale_temps(const std::filesystem::path& dir);

// is_temp_name tells whether a file name is one of poolcert's temporary files.
bool is_temp_name(std::string_view filename);

// FileWarning is something found about a file that does not stop the command but should be
// fixed: the file, its permission bits as found, and one line saying what and how.
struct FileWarning {
  std::filesystem::path file;
  mode_t mode = 0;      // permission bits (07777) as found
  std::string message;  // one line, ready to print after "poolcert: warning: "
};

// octal_mode is permission bits as chmod takes them: "0644".
std::string octal_mode(mode_t mode);

// check_key_permissions tells whether a private key file can be read by more than its owner.
// Returns a warning naming the file, its mode and the chmod that fixes it when group or others
// have read permission; nullopt when they do not or the file is not there. Follows a symlink (the
// key is read through it). Never throws.
std::optional<FileWarning> check_key_permissions(const std::filesystem::path& key_file);

// FolderLock is an exclusive flock(2) on one folder: poolcert runs that write into the same
// folder take turns. The lock is on the folder itself (no lock file to clean up) and belongs to
// the open folder, so it ends when the FolderLock is destroyed or the process dies: a killed run
// never leaves a stale lock. Move-only.
class FolderLock {
 public:
  // Opens `dir` (it must exist); takes no lock yet. Throws IoError (kBadInput).
  explicit FolderLock(const std::filesystem::path& dir);
  ~FolderLock();
  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&& other) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  // try_lock takes the lock when no other open of the folder (in any process) holds it, and
  // returns whether it did. Throws IoError (kOperation) when the file system cannot lock.
  bool try_lock();
  // lock waits until the lock is free, then takes it. Throws IoError (kOperation).
  void lock();

  const std::filesystem::path& dir() const noexcept { return dir_; }
  // identity is the folder's (device, inode): the same however the folder is spelled.
  std::pair<dev_t, ino_t> identity() const noexcept { return identity_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
  std::pair<dev_t, ino_t> identity_{};
};

// FolderBusyError: lock_folders(LockWait::kNoWait) found a folder another run holds. kOperation.
class FolderBusyError : public Error {
 public:
  explicit FolderBusyError(const std::filesystem::path& dir);
};

// Whether lock_folders waits for a folder another run holds.
enum class LockWait { kWait, kNoWait };

// lock_folders locks every folder of `dirs` (each once, however it is spelled) in (device, inode)
// order, so that two runs locking overlapping folders cannot deadlock, and returns the held
// locks. A folder another run holds is waited for after calling `on_wait` with it (once per such
// folder; `on_wait` may be empty) or, with kNoWait, throws FolderBusyError, releasing what it
// took. The folders must exist. Throws IoError.
std::vector<FolderLock> lock_folders(
    const std::vector<std::filesystem::path>& dirs, LockWait wait,
    const std::function<void(const std::filesystem::path&)>& on_wait);

// utc_timestamp is the current UTC time as 20261125T101500Z, for backup names.
std::string utc_timestamp();

}  // namespace poolcert
