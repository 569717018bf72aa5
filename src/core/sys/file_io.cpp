#include "poolcert/sys/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
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

#include "poolcert/model/error.hpp"

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

void write_all(int fd, std::string_view data, const fs::path& tmp) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw IoError(ErrorKind::kOperation, tmp, "write", n < 0 ? errno : EIO);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Six random letters and digits, as mkstemp puts at the end of its names.
std::string random_suffix() {
  static constexpr std::string_view kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(ErrorKind::kOperation, "/dev/urandom", "read", errno);
    got += static_cast<std::size_t>(n);
  }
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % kChars.size()];
  return out;
}

// Makes a temporary file for `name` in the folder `dir_fd` (0600 from the start, O_EXCL, never
// through a symlink) and returns its name and descriptor. The name is
// ".<name>.poolcert-<pid>-XXXXXX", `name` cut short when the whole would not fit in NAME_MAX
// bytes (a valid 240-byte host name leaves no room for the rest).
std::pair<std::string, int> make_temp_at(int dir_fd, const std::string& name,
                                         const fs::path& dir_for_messages) {
  std::string prefix = std::string(kTempMarker) + std::to_string(::getpid()) + "-";
  std::string stem = name;
  stem.resize(std::min(stem.size(), static_cast<std::size_t>(NAME_MAX) - 1 - prefix.size() - 6));
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string tmp = "." + stem + prefix + random_suffix();
    int fd =
        ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return {tmp, fd};
    if (errno != EEXIST) {
      throw IoError(ErrorKind::kOperation, dir_for_messages, "create a file in", errno);
    }
  }
  throw IoError(ErrorKind::kOperation, dir_for_messages, "create a file in", EEXIST);
}

// Reads the whole of the open file `fd` (named `file` in messages), which must be a regular file
// of at most `max_bytes`, and returns its content and fstat.
InputFile read_open_file(int fd, const fs::path& file, std::size_t max_bytes) {
  InputFile in;
  if (::fstat(fd, &in.status) != 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
  if (S_ISDIR(in.status.st_mode)) throw IoError(ErrorKind::kBadInput, file, "read", EISDIR);
  if (!S_ISREG(in.status.st_mode)) {
    throw BadFileError(file,
                       "is not a regular file (a pipe, socket or device): poolcert reads "
                       "its inputs from files only");
  }
  auto too_large = [&] {
    return BadFileError(file, "larger than " + (max_bytes >= (1u << 20)
                                                    ? std::to_string(max_bytes >> 20) + " MiB"
                                                    : std::to_string(max_bytes >> 10) + " KiB"));
  };
  if (static_cast<std::uintmax_t>(in.status.st_size) > max_bytes) throw too_large();
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
    if (n == 0) break;
    in.data.append(buf, static_cast<std::size_t>(n));
    if (in.data.size() > max_bytes) throw too_large();
  }
  return in;
}

// The target of the symlink `name` in the folder `dir_fd`, for a message ("?" when unreadable).
std::string link_target(int dir_fd, const std::string& name) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<std::size_t>(n));
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
  return read_open_file(fd.get(), file, max_bytes).data;
}

SymlinkError::SymlinkError(const fs::path& link, const std::string& target)
    : Error(ErrorKind::kBadInput,
            link.string() + ": is a symbolic link (to " + target +
                "); poolcert does not follow a link where a key is, so that no other file is "
                "taken for the key: replace the link with the key file, or give "
                "--follow-key-symlinks to use it") {}

std::optional<struct stat> stat_at(const Folder& folder, const std::string& name) {
  struct stat st {};
  if (::fstatat(folder.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return st;
  if (errno == ENOENT) return std::nullopt;
  throw IoError(ErrorKind::kBadInput, folder.file(name), "look at", errno);
}

InputFile read_file_at(const Folder& folder, const std::string& name, Symlinks symlinks,
                       std::size_t max_bytes) {
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (symlinks == Symlinks::kRefuse ? O_NOFOLLOW : 0);
  FdGuard fd(::openat(folder.fd(), name.c_str(), flags));
  if (fd.get() < 0) {
    // O_NOFOLLOW fails with ELOOP when the name itself is a symlink.
    if (errno == ELOOP && symlinks == Symlinks::kRefuse) {
      throw SymlinkError(folder.file(name), link_target(folder.fd(), name));
    }
    throw IoError(ErrorKind::kBadInput, folder.file(name), "read", errno);
  }
  return read_open_file(fd.get(), folder.file(name), max_bytes);
}

StagedFile::StagedFile(const Folder& folder, std::string name, std::string_view data, mode_t mode)
    : folder_(&folder), name_(std::move(name)) {
  auto [tmp, fd] = make_temp_at(folder.fd(), name_, folder.path());
  tmp_ = std::move(tmp);
  fd_ = fd;
  try {
    write_all(fd_, data, folder.file(tmp_));
    // fchmod, not the umask, decides the mode: keys stay 0600 under umask 000.
    if (::fchmod(fd_, mode) != 0) {
      throw IoError(ErrorKind::kOperation, folder.file(tmp_), "chmod", errno);
    }
  } catch (...) {
    remove_temp();
    throw;
  }
}

StagedFile::~StagedFile() {
  remove_temp();
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : folder_(other.folder_),
      name_(std::move(other.name_)),
      tmp_(std::exchange(other.tmp_, {})),
      fd_(std::exchange(other.fd_, -1)),
      durable_(other.durable_) {}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
  if (this != &other) {
    remove_temp();
    folder_ = other.folder_;
    name_ = std::move(other.name_);
    tmp_ = std::exchange(other.tmp_, {});
    fd_ = std::exchange(other.fd_, -1);
    durable_ = other.durable_;
  }
  return *this;
}

void StagedFile::remove_temp() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!tmp_.empty()) ::unlinkat(folder_->fd(), tmp_.c_str(), 0);
  tmp_.clear();
}

void StagedFile::install(Existing existing) {
  if (!durable_ || tmp_.empty()) throw std::logic_error("StagedFile::install before sync_staged");
  const int dir = folder_->fd();
  if (::close(std::exchange(fd_, -1)) != 0) {
    throw IoError(ErrorKind::kOperation, folder_->file(tmp_), "close", errno);
  }
  if (existing == Existing::kReplace) {
    if (::renameat(dir, tmp_.c_str(), dir, name_.c_str()) != 0) {
      throw IoError(ErrorKind::kOperation, path(), "rename into place", errno);
    }
  } else {
    // linkat() fails with EEXIST instead of replacing: a key is never overwritten, even by a
    // concurrent run that got there first.
    if (::linkat(dir, tmp_.c_str(), dir, name_.c_str(), 0) != 0) {
      if (errno == EEXIST) throw FileExistsError(path());
      throw IoError(ErrorKind::kOperation, path(), "link into place", errno);
    }
    ::unlinkat(dir, tmp_.c_str(), 0);
  }
  tmp_.clear();
}

void sync_staged(const std::vector<StagedFile*>& files) {
  std::map<dev_t, std::vector<StagedFile*>> by_device;
  for (StagedFile* file : files) {
    struct stat st {};
    if (::fstat(file->fd_, &st) != 0) {
      throw IoError(ErrorKind::kOperation, file->path(), "sync", errno);
    }
    by_device[st.st_dev].push_back(file);
  }
  for (auto& [device, group] : by_device) {
    if (group.size() >= kSyncfsBatch && syncfs_covers(group.front()->fd_)) {
      if (::syncfs(group.front()->fd_) != 0) {
        throw IoError(ErrorKind::kOperation, group.front()->folder_->path(), "sync", errno);
      }
    } else {
      for (StagedFile* file : group) {
        if (::fsync(file->fd_) != 0)
          throw IoError(ErrorKind::kOperation, file->path(), "sync", errno);
      }
    }
    for (StagedFile* file : group) file->durable_ = true;
  }
}

void write_file_at(const Folder& folder, const std::string& name, std::string_view data,
                   mode_t mode, Existing existing, FolderSync folder_sync) {
  StagedFile staged(folder, name, data, mode);
  sync_staged({&staged});  // one file: its own fsync
  staged.install(existing);
  if (folder_sync == FolderSync::kNow) folder.sync();
}

void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode, Existing existing,
                       FolderSync folder_sync) {
  Folder folder(folder_of(path));
  write_file_at(folder, path.filename().string(), data, mode, existing, folder_sync);
}

void sync_folder(const fs::path& dir) {
  Folder(dir).sync();
}

fs::path move_aside(const Folder& folder, const std::string& name, const std::string& suffix) {
  for (int i = 0; i < 1000; ++i) {
    std::string target = name + suffix + (i == 0 ? "" : "." + std::to_string(i));
    if (::linkat(folder.fd(), name.c_str(), folder.fd(), target.c_str(), 0) == 0) {
      if (::unlinkat(folder.fd(), name.c_str(), 0) != 0) {
        throw IoError(ErrorKind::kOperation, folder.file(name), "remove after backup", errno);
      }
      folder.sync();
      return folder.file(target);
    }
    if (errno != EEXIST) {
      throw IoError(ErrorKind::kOperation, folder.file(target), "back up to", errno);
    }
  }
  throw IoError(ErrorKind::kOperation, folder.file(name), "find a free backup name for", EEXIST);
}

void remove_file(const Folder& folder, const std::string& name) {
  if (::unlinkat(folder.fd(), name.c_str(), 0) != 0) {
    if (errno == ENOENT) return;
    throw IoError(ErrorKind::kOperation, folder.file(name), "remove", errno);
  }
  folder.sync();
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

void check_can_create(const fs::path& dir) {
  fs::path existing = dir.empty() ? fs::path(".") : dir;
  struct stat st {};
  while (::stat(existing.c_str(), &st) != 0) {
    if (errno != ENOENT || !existing.has_relative_path()) {
      throw IoError(ErrorKind::kBadInput, dir, "create output folder", errno);
    }
    fs::path parent = existing.parent_path();
    existing = parent.empty() ? fs::path(".") : parent;
  }
  if (!S_ISDIR(st.st_mode))
    throw IoError(ErrorKind::kBadInput, dir, "use as output folder", ENOTDIR);
  bool is_dir_itself = existing == dir;
  if (!is_dir_itself && ::access(existing.c_str(), W_OK | X_OK) != 0) {
    throw IoError(ErrorKind::kBadInput, dir, "create output folder", errno);
  }
}

void check_writable(const Folder& folder) {
  // A probe file, not access(2): it also finds a read-only mount or a full inode table.
  std::pair<std::string, int> probe;
  try {
    probe = make_temp_at(folder.fd(), "", folder.path());
  } catch (const IoError& e) {
    throw IoError(ErrorKind::kBadInput, folder.path(), "write in output folder", e.error_number());
  }
  ::close(probe.second);
  ::unlinkat(folder.fd(), probe.first.c_str(), 0);
}

void prepare_output_dir(const fs::path& dir) {
  make_output_dir(dir);
  check_writable(Folder(dir));
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

int remove_stale_temps(const Folder& folder) {
  // A descriptor of its own: readdir moves the one it is given.
  int dup = ::openat(folder.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return 0;
  DIR* listing = ::fdopendir(dup);
  if (listing == nullptr) {
    ::close(dup);
    return 0;
  }
  int removed = 0;
  while (const dirent* entry = ::readdir(listing)) {
    std::optional<long> pid = temp_name_pid(entry->d_name);
    if (!pid) continue;
    bool alive = *pid > 0 && (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno == EPERM);
    if (alive) continue;  // a live run (maybe this one) is writing it now
    if (::unlinkat(folder.fd(), entry->d_name, 0) == 0) ++removed;
  }
  ::closedir(listing);
  return removed;
}

int remove_stale_temps(const fs::path& dir) {
  try {
    return remove_stale_temps(Folder(dir));
  } catch (const IoError&) {
    return 0;
  }
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::optional<FileWarning> key_permission_warning(const fs::path& key_file, const struct stat& st) {
  mode_t mode = st.st_mode & 07777;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(key_file, ec);
    return FileWarning{key_file, mode,
                       key_file.string() + " is a symbolic link (to " +
                           (ec ? std::string("?") : target.string()) +
                           "): whoever can change the link or its target can change the key; csr "
                           "and pfx refuse it without --follow-key-symlinks"};
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  bool group = (st.st_mode & S_IRGRP) != 0;
  bool others = (st.st_mode & S_IROTH) != 0;
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

std::optional<FileWarning> check_key_permissions(const fs::path& key_file) {
  struct stat st {};
  if (::lstat(key_file.c_str(), &st) != 0) return std::nullopt;
  return key_permission_warning(key_file, st);
}

std::optional<FolderSafety> folder_safety(const fs::path& dir, const struct stat& st) {
  const uid_t me = ::geteuid();
  const mode_t mode = st.st_mode & 07777;
  const std::string shown = dir.empty() ? std::string(".") : dir.string();
  if (st.st_uid != me && st.st_uid != 0) {
    return FolderSafety{true,
                        {dir, mode,
                         shown + " is owned by uid " + std::to_string(st.st_uid) +
                             ", not by the user running poolcert (uid " + std::to_string(me) +
                             ") or root: that user can replace or remove the keys in it; use a "
                             "folder of your own (-o DIR) or chown it to yourself"}};
  }
  bool group = (st.st_mode & S_IWGRP) != 0;
  bool others = (st.st_mode & S_IWOTH) != 0;
  if (!group && !others) return std::nullopt;
  const char* who = group && others ? "group and others" : group ? "group" : "others";
  if ((st.st_mode & S_ISVTX) == 0) {
    return FolderSafety{true,
                        {dir, mode,
                         shown + " is writable by " + who + " (mode " + octal_mode(mode) +
                             ") without the sticky bit: they can replace or remove the keys in "
                             "it; run chmod go-w " +
                             shell_word(shown) + " or use a folder of your own (-o DIR)"}};
  }
  return FolderSafety{false,
                      {dir, mode,
                       shown + " is writable by " + who + " (mode " + octal_mode(mode) +
                           ", sticky): they cannot change poolcert's files there, but can see "
                           "their names and put files under names not made yet; a folder only "
                           "you can write (chmod 700) is safer"}};
}

std::optional<FolderSafety> folder_safety(const fs::path& dir) {
  struct stat st {};
  if (::stat((dir.empty() ? fs::path(".") : dir).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return std::nullopt;
  }
  return folder_safety(dir, st);
}

Folder::Folder(const fs::path& dir) : dir_(dir) {
  // O_RDONLY is all flock(2) and the *at calls need; O_CLOEXEC keeps the lock from leaking into a
  // child.
  fd_ = ::open((dir.empty() ? fs::path(".") : dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(ErrorKind::kBadInput, dir, "open folder", errno);
  if (::fstat(fd_, &st_) != 0) {
    int err = errno;
    ::close(fd_);
    throw IoError(ErrorKind::kBadInput, dir, "open folder", err);
  }
}

Folder::~Folder() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the open folder releases it
}

Folder::Folder(Folder&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(std::exchange(other.fd_, -1)), st_(other.st_) {}

Folder& Folder::operator=(Folder&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    dir_ = std::move(other.dir_);
    fd_ = std::exchange(other.fd_, -1);
    st_ = other.st_;
  }
  return *this;
}

bool Folder::try_lock() {
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) throw IoError(ErrorKind::kOperation, dir_, "lock folder", errno);
  }
  return true;
}

void Folder::lock() {
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) throw IoError(ErrorKind::kOperation, dir_, "lock folder", errno);
  }
}

void Folder::unlock() noexcept {
  ::flock(fd_, LOCK_UN);
}

void Folder::sync() const {
  if (::fsync(fd_) != 0) throw IoError(ErrorKind::kOperation, dir_, "sync folder", errno);
}

FolderBusyError::FolderBusyError(const fs::path& dir)
    : Error(ErrorKind::kOperation,
            dir.string() +
                ": another poolcert run is writing in this folder; nothing was written (without "
                "--no-wait, poolcert waits for it to finish)") {}

void lock_folders(const std::vector<Folder*>& folders, LockWait wait,
                  const std::function<void(const fs::path&)>& on_wait) {
  std::vector<Folder*> order = folders;
  // One global order for every run: a run waits only for folders after those it holds.
  std::sort(order.begin(), order.end(),
            [](const Folder* a, const Folder* b) { return a->identity() < b->identity(); });
  std::size_t taken = 0;
  try {
    for (; taken < order.size(); ++taken) {
      Folder* folder = order[taken];
      if (folder->try_lock()) continue;
      if (wait == LockWait::kNoWait) throw FolderBusyError(folder->path());
      if (on_wait) on_wait(folder->path());
      folder->lock();
    }
  } catch (...) {
    for (std::size_t i = 0; i < taken; ++i) order[i]->unlock();
    throw;
  }
}

FolderIdentity folder_identity(const fs::path& dir) {
  fs::path existing = fs::absolute(dir.empty() ? fs::path(".") : dir);
  fs::path rest;
  struct stat st {};
  while (::stat(existing.c_str(), &st) != 0 && existing.has_relative_path()) {
    rest = rest.empty() ? existing.filename() : existing.filename() / rest;
    existing = existing.parent_path();
  }
  // "out/new/", "out/./new" and "out/new" are one folder.
  std::string below = rest.lexically_normal().string();
  while (!below.empty() && below.back() == '/') below.pop_back();
  if (below == ".") below.clear();
  return FolderIdentity{st.st_dev, st.st_ino, below};
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
