// Files that must never be half-written: every output goes to a temporary file in the same
// folder, is fsynced, then renamed (or linked, when it must not replace anything) into place.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "poolcert/model/error.hpp"

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

// Folder is an open folder: the descriptor every later file operation in it goes through
// (openat, linkat, renameat, unlinkat, fstatat), so that a folder renamed, or a symlink to it
// flipped, while a run works in it does not send that run's files elsewhere. It also carries the
// run's exclusive flock(2) on the folder: poolcert runs that write into one folder take turns. The
// lock belongs to the open folder, so it ends when the Folder is destroyed or the process dies: a
// killed run never leaves a stale lock. Move-only.
class Folder {
 public:
  // Opens `dir` (it must exist, and be a folder); takes no lock. Throws IoError (kBadInput).
  explicit Folder(const std::filesystem::path& dir);
  ~Folder();
  Folder(Folder&& other) noexcept;
  Folder& operator=(Folder&& other) noexcept;
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;

  int fd() const noexcept { return fd_; }
  // The folder as it was named when opened: for messages only, never to reach a file.
  const std::filesystem::path& path() const noexcept { return dir_; }
  // path()/name, how a message names a file of this folder.
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }
  // identity is the folder's (device, inode): the same however the folder is spelled.
  std::pair<dev_t, ino_t> identity() const noexcept { return {st_.st_dev, st_.st_ino}; }
  // The folder's own owner and mode, as found when it was opened.
  const struct stat& status() const noexcept { return st_; }

  // try_lock takes the lock when no other open of the folder (in any process) holds it, and
  // returns whether it did. Throws IoError (kOperation) when the file system cannot lock.
  bool try_lock();
  // lock waits until the lock is free, then takes it. Throws IoError (kOperation).
  void lock();
  // unlock releases the lock (if held). Never throws.
  void unlock() noexcept;
  // sync fsyncs the folder, making the renames and links done in it durable. Throws IoError
  // (kOperation).
  void sync() const;

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
  struct stat st_ {};
};

// stat_at is the lstat of `name` in `folder` (a symlink is not followed), or nullopt when there
// is no such file. Throws IoError (kBadInput) on any other error.
std::optional<struct stat> stat_at(const Folder& folder, const std::string& name);

// Whether reading a file follows a symbolic link at its name.
enum class Symlinks {
  kRefuse,  // O_NOFOLLOW: a symlink is refused (SymlinkError)
  kFollow,  // the user asked for it (--follow-key-symlinks)
};

// SymlinkError: a file poolcert would read or reuse is a symbolic link and the user did not ask
// for links to be followed. The message names the link, its target and the option. kBadInput.
class SymlinkError : public Error {
 public:
  SymlinkError(const std::filesystem::path& link, const std::string& target);
};

// InputFile is a file read whole through one descriptor, with that descriptor's fstat: what was
// read is what was checked.
struct InputFile {
  std::string data;
  struct stat status {};
};

// read_file_at reads `name` in `folder` (at most `max_bytes`) as read_input_file does: opened
// O_NONBLOCK, a regular file only, its size checked first. A symlink at `name` is refused unless
// `symlinks` is kFollow. Throws IoError (kBadInput), BadFileError, SymlinkError.
InputFile read_file_at(const Folder& folder, const std::string& name, Symlinks symlinks,
                       std::size_t max_bytes = 16 << 20);

// StagedFile is a file's new content in a temporary file beside its destination (created 0600,
// written, given its final mode with fchmod whatever the umask), neither durable nor in place yet.
// A batch stages its files, makes them all durable at once (sync_staged), then installs each:
// every file's data is on disk before its name points at it, for one disk flush per batch
// instead of one per file. Destroying a StagedFile that was not installed removes its temporary
// file. The folder must outlive it. Move-only.
class StagedFile {
 public:
  // Writes `data` to a new temporary file for `name` in `folder`. Throws IoError (kOperation).
  StagedFile(const Folder& folder, std::string name, std::string_view data, mode_t mode);
  ~StagedFile();
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  // Where the file goes, for messages.
  std::filesystem::path path() const { return folder_->file(name_); }

  // install puts the file in place: renameat (kReplace) or linkat, which never replaces anything
  // (kKeep: throws FileExistsError when the destination is there). Its data must have been made
  // durable by sync_staged first (std::logic_error otherwise). The folder entry is durable only
  // once the folder is synced (Folder::sync). Throws IoError (kOperation).
  void install(Existing existing);

 private:
  friend void sync_staged(const std::vector<StagedFile*>& files);
  void remove_temp() noexcept;

  const Folder* folder_ = nullptr;
  std::string name_;
  std::string tmp_;  // the temporary file's name in folder_; empty once installed or removed
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

// write_file_at is write_file_atomic for `name` in an open folder. kLater: the caller syncs the
// folder (Folder::sync) before it reports the file written.
void write_file_at(const Folder& folder, const std::string& name, std::string_view data,
                   mode_t mode, Existing existing, FolderSync folder_sync = FolderSync::kNow);

// sync_folder fsyncs the folder `dir`. Throws IoError (kOperation).
void sync_folder(const std::filesystem::path& dir);

// move_aside renames `name` in `folder` to a name that does not exist yet (`name` + suffix, then
// `name` + suffix + ".1", ...) without replacing anything, syncs the folder, and returns the new
// name's path. Throws IoError (kOperation).
std::filesystem::path move_aside(const Folder& folder, const std::string& name,
                                 const std::string& suffix);

// remove_file removes `name` from `folder` if it is there and syncs the folder. Throws IoError
// (kOperation).
void remove_file(const Folder& folder, const std::string& name);

// make_output_dir makes `dir` and its missing parents, each new folder 0700 whatever the umask
// (they will hold keys); folders already there are left as they are. Throws IoError (kBadInput).
void make_output_dir(const std::filesystem::path& dir);

// check_can_create tells, without making anything, whether make_output_dir(dir) can work: `dir`
// is a folder, or its nearest existing ancestor is a folder this user may create entries in.
// Throws IoError (kBadInput) when it cannot.
void check_can_create(const std::filesystem::path& dir);

// check_writable proves `folder` can be written by creating and removing a temporary file in
// it. Throws IoError (kBadInput): nothing has been written yet when the folder is unusable.
void check_writable(const Folder& folder);

// prepare_output_dir makes `dir` (make_output_dir) and proves it can be written
// (check_writable). Throws IoError (kBadInput).
void prepare_output_dir(const std::filesystem::path& dir);

// remove_stale_temps removes temporary files an earlier, killed poolcert run left in `folder`
// (those whose process is gone). Returns how many it removed. Never throws.
int remove_stale_temps(const Folder& folder);
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

// key_permission_warning tells whether the key file `key_file`, whose lstat is `st`, can be
// used by more than the user running poolcert: readable by group or others (the chmod that fixes
// it), owned by another user, or a symbolic link (its target). nullopt when none. Never throws.
std::optional<FileWarning> key_permission_warning(const std::filesystem::path& key_file,
                                                  const struct stat& st);

// check_key_permissions is key_permission_warning for a key file named by its path (lstat);
// nullopt when the file is not there. Never throws.
std::optional<FileWarning> check_key_permissions(const std::filesystem::path& key_file);

// FolderSafety is what folder_safety found about who else can change a folder keys are in.
struct FolderSafety {
  // Another user can replace or remove files in it: writable by group or others without the
  // sticky bit, or owned by a user other than root and the one running poolcert. csr refuses
  // such a folder; verify and pfx warn.
  bool unsafe = false;
  FileWarning warning;  // one line: what, and how to fix it
};

// folder_safety judges a folder from its stat `st` (named `dir` in the message): unsafe (above),
// or a warning for a folder others may create files in with the sticky bit (like /tmp: they
// cannot touch poolcert's files, but can plant files under names poolcert has not made yet).
// nullopt for a folder only its owner (the user, or root) can change. Never throws.
std::optional<FolderSafety> folder_safety(const std::filesystem::path& dir, const struct stat& st);
// The same for a folder named by its path (stat, following a symlink to it); nullopt when it is
// not there.
std::optional<FolderSafety> folder_safety(const std::filesystem::path& dir);

// FolderBusyError: lock_folders(LockWait::kNoWait) found a folder another run holds. kOperation.
class FolderBusyError : public Error {
 public:
  explicit FolderBusyError(const std::filesystem::path& dir);
};

// Whether lock_folders waits for a folder another run holds.
enum class LockWait { kWait, kNoWait };

// lock_folders locks every folder of `folders` in (device, inode) order, so that two runs
// locking overlapping folders cannot deadlock. A folder another run holds is waited for after
// calling `on_wait` with it (once per such folder; `on_wait` may be empty) or, with kNoWait,
// throws FolderBusyError, releasing the locks it took. Each folder must appear once (two opens of
// one folder would be two locks: the second would wait for the first forever). Throws IoError.
void lock_folders(const std::vector<Folder*>& folders, LockWait wait,
                  const std::function<void(const std::filesystem::path&)>& on_wait);

// FolderIdentity names a folder however it is spelled, even before it exists: the (device,
// inode) of its nearest existing ancestor and the rest of its path below that ancestor (empty
// when the folder itself exists). Two spellings of one folder through a symlink or a bind mount
// have one identity.
struct FolderIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  std::string rest;
  bool operator<(const FolderIdentity& o) const {
    return std::tie(device, inode, rest) < std::tie(o.device, o.inode, o.rest);
  }
};
FolderIdentity folder_identity(const std::filesystem::path& dir);

// utc_timestamp is the current UTC time as 20261125T101500Z, for backup names.
std::string utc_timestamp();

}  // namespace poolcert
