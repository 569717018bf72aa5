#include "poolcert/file_io.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <stdexcept>
#include <utility>

#include "poolcert/error.hpp"

namespace poolcert {
namespace fs = std::filesystem;
namespace {

// Temporary files are ".<final name>.poolcert-<pid>-XXXXXX": hidden, tied to their writer's pid
// so that a later run can tell a dead run's leftovers from a live run's work in progress.
constexpr std::string_view kTempMarker = ".poolcert-";

// Closes a descriptor on every path out of a scope.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release_close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

fs::path folder_of(const fs::path& path) {
  fs::path dir = path.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// A rename or link is durable only once the folder entry is on disk too.
void fsync_dir(const fs::path& dir) {
  FdGuard fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    throw IoError(ErrorKind::kOperation, dir, "sync folder", errno);
  }
}

void write_all(int fd, std::string_view data, const fs::path& tmp) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw IoError(ErrorKind::kOperation, tmp, "write", n < 0 ? errno : EIO);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Makes the temporary file (0600 from the start: mkstemp's mode) and returns its path and fd.
// Its name is ".<file name>.poolcert-<pid>-XXXXXX", the file name cut short when the whole would
// not fit in NAME_MAX bytes (a valid 240-byte host name leaves no room for the rest).
std::pair<fs::path, int> make_temp(const fs::path& path) {
  std::string suffix = std::string(kTempMarker) + std::to_string(::getpid()) + "-XXXXXX";
  std::string name = path.filename().string();
  name.resize(std::min(name.size(), static_cast<std::size_t>(NAME_MAX) - 1 - suffix.size()));
  std::string pattern = (folder_of(path) / ("." + name + suffix)).string();
  int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) throw IoError(ErrorKind::kOperation, folder_of(path), "create a file in", errno);
  return {fs::path(pattern), fd};
}

// Whether syncfs(2) on the file system of `fd` is as good as an fsync of every file on it: a
// local file system whose sync writes every dirty file's data and metadata and then flushes the
// disk cache, on a kernel whose syncfs reports write errors (Linux 5.8 and later; before, it
// returned 0 whatever happened). Network and FUSE file systems may sync less: they get fsync.
bool syncfs_covers(int fd) {
  static const bool kernel_reports_errors = [] {
    struct utsname u {};
    int major = 0, minor = 0;
    return ::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
           (major > 5 || (major == 5 && minor >= 8));
  }();
  if (!kernel_reports_errors) return false;
  struct statfs sfs {};
  if (::fstatfs(fd, &sfs) != 0) return false;
  switch (static_cast<unsigned long>(sfs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
      return true;
    default:
      return false;
  }
}

// A path as a shell word, quoted only when it needs to be, for a command to copy and run.
std::string shell_word(const std::string& text) {
  bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("/._-+:@%,").find(c) != std::string_view::npos;
  });
  if (plain) return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::string read_input_file(const fs::path& file, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO without a writer would wait forever (and a device might); what is
  // not a regular file is refused before anything is read from it.
  FdGuard fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
  if (S_ISDIR(st.st_mode)) throw IoError(ErrorKind::kBadInput, file, "read", EISDIR);
  if (!S_ISREG(st.st_mode)) {
    throw BadFileError(file,
                       "is not a regular file (a pipe, socket or device): poolcert reads "
                       "its inputs from files only");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    throw BadFileError(file, "larger than " + (max_bytes >= (1u << 20)
                                                   ? std::to_string(max_bytes >> 20) + " MiB"
                                                   : std::to_string(max_bytes >> 10) + " KiB"));
  }
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {
      throw BadFileError(file, "larger than " + (max_bytes >= (1u << 20)
                                                     ? std::to_string(max_bytes >> 20) + " MiB"
                                                     : std::to_string(max_bytes >> 10) + " KiB"));
    }
  }
  return data;
}

StagedFile::StagedFile(fs::path path, std::string_view data, mode_t mode) : path_(std::move(path)) {
  auto [tmp, fd] = make_temp(path_);
  tmp_ = std::move(tmp);
  fd_ = fd;
  try {
    write_all(fd_, data, tmp_);
    // fchmod, not the umask, decides the mode: keys stay 0600 under umask 000.
    if (::fchmod(fd_, mode) != 0) throw IoError(ErrorKind::kOperation, tmp_, "chmod", errno);
  } catch (...) {
    remove_temp();
    throw;
  }
}

StagedFile::~StagedFile() {
  remove_temp();
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_(std::exchange(other.tmp_, {})),
      fd_(std::exchange(other.fd_, -1)),
      durable_(other.durable_) {}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
  if (this != &other) {
    remove_temp();
    path_ = std::move(other.path_);
    tmp_ = std::exchange(other.tmp_, {});
    fd_ = std::exchange(other.fd_, -1);
    durable_ = other.durable_;
  }
  return *this;
}

void StagedFile::remove_temp() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

void StagedFile::install(Existing existing) {
  if (!durable_ || tmp_.empty()) throw std::logic_error("StagedFile::install before sync_staged");
  if (::close(std::exchange(fd_, -1)) != 0) {
    throw IoError(ErrorKind::kOperation, tmp_, "close", errno);
  }
  if (existing == Existing::kReplace) {
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      throw IoError(ErrorKind::kOperation, path_, "rename into place", errno);
    }
  } else {
    // link() fails with EEXIST instead of replacing: a key is never overwritten, even by a
    // concurrent run that got there first.
    if (::link(tmp_.c_str(), path_.c_str()) != 0) {
      if (errno == EEXIST) throw FileExistsError(path_);
      throw IoError(ErrorKind::kOperation, path_, "link into place", errno);
    }
    ::unlink(tmp_.c_str());
  }
  tmp_.clear();
}

void sync_staged(const std::vector<StagedFile*>& files) {
  std::map<dev_t, std::vector<StagedFile*>> by_device;
  for (StagedFile* file : files) {
    struct stat st {};
    if (::fstat(file->fd_, &st) != 0) {
      throw IoError(ErrorKind::kOperation, file->tmp_, "sync", errno);
    }
    by_device[st.st_dev].push_back(file);
  }
  for (auto& [device, group] : by_device) {
    if (group.size() >= kSyncfsBatch && syncfs_covers(group.front()->fd_)) {
      if (::syncfs(group.front()->fd_) != 0) {
        throw IoError(ErrorKind::kOperation, folder_of(group.front()->path_), "sync", errno);
      }
    } else {
      for (StagedFile* file : group) {
        if (::fsync(file->fd_) != 0)
          throw IoError(ErrorKind::kOperation, file->tmp_, "sync", errno);
      }
    }
    for (StagedFile* file : group) file->durable_ = true;
  }
}

void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode, Existing existing,
                       FolderSync folder_sync) {
  StagedFile staged(path, data, mode);
  sync_staged({&staged});  // one file: its own fsync
  staged.install(existing);
  if (folder_sync == FolderSync::kNow) fsync_dir(folder_of(path));
}

void sync_folder(const fs::path& dir) {
  fsync_dir(dir);
}

fs::path move_aside(const fs::path& path, const std::string& suffix) {
  for (int i = 0; i < 1000; ++i) {
    fs::path target = path.string() + suffix + (i == 0 ? "" : "." + std::to_string(i));
    if (::link(path.c_str(), target.c_str()) == 0) {
      if (::unlink(path.c_str()) != 0) {
        throw IoError(ErrorKind::kOperation, path, "remove after backup", errno);
      }
      fsync_dir(folder_of(path));
      return target;
    }
    if (errno != EEXIST) throw IoError(ErrorKind::kOperation, target, "back up to", errno);
  }
  throw IoError(ErrorKind::kOperation, path, "find a free backup name for", EEXIST);
}

void remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw IoError(ErrorKind::kOperation, path, "remove", errno);
  }
  fsync_dir(folder_of(path));
}

void make_output_dir(const fs::path& dir) {
  fs::path built;
  for (const fs::path& part : dir) {
    built /= part;
    // mkdir's mode is masked by the umask, which can only take bits away: 0700 at most.
    if (::mkdir(built.c_str(), 0700) != 0 && errno != EEXIST) {
      throw IoError(ErrorKind::kBadInput, built, "create output folder", errno);
    }
  }
}

void prepare_output_dir(const fs::path& dir) {
  std::error_code ec;
  make_output_dir(dir);
  if (!fs::is_directory(dir, ec)) {
    throw IoError(ErrorKind::kBadInput, dir, "use as output folder", ENOTDIR);
  }
  std::string probe = (dir / ".poolcert-probe-XXXXXX").string();
  int fd = ::mkostemp(probe.data(), O_CLOEXEC);
  if (fd < 0) throw IoError(ErrorKind::kBadInput, dir, "write in output folder", errno);
  ::close(fd);
  ::unlink(probe.c_str());
}

namespace {

// mkostemp's six characters at the end of `name`, after `prefix_end`: letters and digits.
bool ends_in_mkstemp_suffix(std::string_view name, std::size_t prefix_end) {
  return name.size() == prefix_end + 6 &&
         std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix_end), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

// The run a temporary file name of poolcert's belongs to: the pid in
// ".<file>.poolcert-<pid>-XXXXXX" (make_temp; above 0), 0 for ".poolcert-probe-XXXXXX"
// (prepare_output_dir, which removes its own at once), nullopt for any other name.
std::optional<long> temp_name_pid(std::string_view name) {
  constexpr std::string_view kProbe = ".poolcert-probe-";
  if (name.substr(0, kProbe.size()) == kProbe) {
    return ends_in_mkstemp_suffix(name, kProbe.size()) ? std::optional<long>(0) : std::nullopt;
  }
  std::size_t at = name.rfind(kTempMarker);
  if (name.size() < 2 || name.front() != '.' || at == std::string_view::npos || at == 0) {
    return std::nullopt;
  }
  std::size_t digits = at + kTempMarker.size();
  std::size_t dash = digits;
  while (dash < name.size() && std::isdigit(static_cast<unsigned char>(name[dash])) != 0) ++dash;
  // Up to 9 digits (Linux pids have at most 7): no overflow to parse.
  if (dash == digits || dash - digits > 9 || dash >= name.size() || name[dash] != '-' ||
      !ends_in_mkstemp_suffix(name, dash + 1)) {
    return std::nullopt;
  }
  long pid = std::stol(std::string(name.substr(digits, dash - digits)));
  return pid > 0 ? std::optional<long>(pid) : std::nullopt;
}

}  // namespace

bool is_temp_name(std::string_view name) {
  return temp_name_pid(name).has_value();
}

int remove_stale_temps(const fs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::optional<long> pid = temp_name_pid(it->path().filename().string());
    if (!pid) continue;
    bool alive = *pid > 0 && (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno == EPERM);
    if (alive) continue;  // a live run (maybe this one) is writing it now
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::optional<FileWarning> check_key_permissions(const fs::path& key_file) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  bool group = (st.st_mode & S_IRGRP) != 0;
  bool others = (st.st_mode & S_IROTH) != 0;
  mode_t mode = st.st_mode & 07777;
  if (group || others) {
    const char* who = group && others ? "group and others" : group ? "group" : "others";
    return FileWarning{key_file, mode,
                       key_file.string() + " is readable by " + who + " (mode " + octal_mode(mode) +
                           "): run chmod 600 " + shell_word(key_file.string())};
  }
  // A key another user owns is that user's to read, replace or hand out.
  if (st.st_uid != ::geteuid()) {
    return FileWarning{key_file, mode,
                       key_file.string() + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not by the user running poolcert (uid " +
                           std::to_string(::geteuid()) + "): that user can read or replace it"};
  }
  return std::nullopt;
}

FolderLock::FolderLock(const fs::path& dir) : dir_(dir) {
  // O_RDONLY is all flock(2) needs; O_CLOEXEC keeps the lock from leaking into a child.
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(ErrorKind::kBadInput, dir, "open folder to lock", errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    int err = errno;
    ::close(fd_);
    throw IoError(ErrorKind::kBadInput, dir, "open folder to lock", err);
  }
  identity_ = {st.st_dev, st.st_ino};
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the open folder releases it
}

FolderLock::FolderLock(FolderLock&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(std::exchange(other.fd_, -1)), identity_(other.identity_) {}

FolderLock& FolderLock::operator=(FolderLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    dir_ = std::move(other.dir_);
    fd_ = std::exchange(other.fd_, -1);
    identity_ = other.identity_;
  }
  return *this;
}

bool FolderLock::try_lock() {
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) throw IoError(ErrorKind::kOperation, dir_, "lock folder", errno);
  }
  return true;
}

void FolderLock::lock() {
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) throw IoError(ErrorKind::kOperation, dir_, "lock folder", errno);
  }
}

FolderBusyError::FolderBusyError(const fs::path& dir)
    : Error(ErrorKind::kOperation,
            dir.string() +
                ": another poolcert run is writing in this folder; nothing was written (without "
                "--no-wait, poolcert waits for it to finish)") {}

std::vector<FolderLock> lock_folders(const std::vector<fs::path>& dirs, LockWait wait,
                                     const std::function<void(const fs::path&)>& on_wait) {
  std::vector<FolderLock> locks;
  for (const fs::path& dir : dirs) {
    FolderLock lock(dir);
    // Two opens of one folder would be two locks: the second would wait for the first forever.
    bool seen = std::any_of(locks.begin(), locks.end(),
                            [&](const FolderLock& l) { return l.identity() == lock.identity(); });
    if (!seen) locks.push_back(std::move(lock));
  }
  // One global order for every run: a run waits only for folders after those it holds.
  std::sort(locks.begin(), locks.end(),
            [](const FolderLock& a, const FolderLock& b) { return a.identity() < b.identity(); });
  for (FolderLock& lock : locks) {
    if (lock.try_lock()) continue;
    if (wait == LockWait::kNoWait) throw FolderBusyError(lock.dir());  // `locks` releases all
    if (on_wait) on_wait(lock.dir());
    lock.lock();
  }
  return locks;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace poolcert
