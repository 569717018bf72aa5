#include "poolcert/file_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

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
std::pair<fs::path, int> make_temp(const fs::path& path) {
  std::string pattern = (folder_of(path) / ("." + path.filename().string())).string() +
                        std::string(kTempMarker) + std::to_string(::getpid()) + "-XXXXXX";
  int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) throw IoError(ErrorKind::kOperation, folder_of(path), "create a file in", errno);
  return {fs::path(pattern), fd};
}

}  // namespace

std::string read_input_file(const fs::path& file, std::size_t max_bytes) {
  FdGuard fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
  if (S_ISDIR(st.st_mode)) throw IoError(ErrorKind::kBadInput, file, "read", EISDIR);
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(ErrorKind::kBadInput, file, "read", errno);
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {
      throw BadFileError(file, "larger than " + std::to_string(max_bytes >> 20) + " MiB");
    }
  }
  return data;
}

void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode, Existing existing,
                       FolderSync folder_sync) {
  auto [tmp, raw_fd] = make_temp(path);
  FdGuard fd(raw_fd);
  try {
    write_all(fd.get(), data, tmp);
    // fchmod, not the umask, decides the mode: keys stay 0600 under umask 000.
    if (::fchmod(fd.get(), mode) != 0) throw IoError(ErrorKind::kOperation, tmp, "chmod", errno);
    if (::fsync(fd.get()) != 0) throw IoError(ErrorKind::kOperation, tmp, "sync", errno);
    if (fd.release_close() != 0) throw IoError(ErrorKind::kOperation, tmp, "close", errno);
    if (existing == Existing::kReplace) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        throw IoError(ErrorKind::kOperation, path, "rename into place", errno);
      }
    } else {
      // link() fails with EEXIST instead of replacing: a key is never overwritten, even by a
      // concurrent run that got there first.
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        if (errno == EEXIST) throw FileExistsError(path);
        throw IoError(ErrorKind::kOperation, path, "link into place", errno);
      }
      ::unlink(tmp.c_str());
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
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

void prepare_output_dir(const fs::path& dir) {
  std::error_code ec;
  fs::path built;
  for (const fs::path& part : dir) {
    built /= part;
    if (::mkdir(built.c_str(), 0700) != 0 && errno != EEXIST) {
      throw IoError(ErrorKind::kBadInput, built, "create output folder", errno);
    }
  }
  if (!fs::is_directory(dir, ec)) {
    throw IoError(ErrorKind::kBadInput, dir, "use as output folder", ENOTDIR);
  }
  std::string probe = (dir / ".poolcert-probe-XXXXXX").string();
  int fd = ::mkostemp(probe.data(), O_CLOEXEC);
  if (fd < 0) throw IoError(ErrorKind::kBadInput, dir, "write in output folder", errno);
  ::close(fd);
  ::unlink(probe.c_str());
}

bool is_temp_name(std::string_view name) {
  return (name.size() > 1 && name.front() == '.' && name.find(kTempMarker) != std::string::npos) ||
         name.rfind(".poolcert-probe-", 0) == 0;
}

int remove_stale_temps(const fs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!is_temp_name(name)) continue;
    std::size_t at = name.rfind(kTempMarker);
    long pid = at == std::string::npos ? 0 : std::atol(name.c_str() + at + kTempMarker.size());
    bool alive = pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    if (alive) continue;  // a live run (maybe this one) is writing it now
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
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
