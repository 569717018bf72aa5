#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "temp_dir.hpp"

using namespace poolcert;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// Sets the umask for one scope.
struct UmaskScope {
  explicit UmaskScope(mode_t m) : old(::umask(m)) {}
  ~UmaskScope() { ::umask(old); }
  mode_t old;
};

}  // namespace

TEST_CASE("files get exactly the mode asked for, whatever the umask") {
  test::TempDir dir;
  UmaskScope open_umask(0);
  write_file_atomic(dir.path() / "a.key", "secret", 0600, Existing::kKeep);
  write_file_atomic(dir.path() / "a.csr", "public", 0644, Existing::kReplace);
  CHECK(mode_of(dir.path() / "a.key") == 0600);
  CHECK(mode_of(dir.path() / "a.csr") == 0644);
  CHECK(count_entries(dir.path()) == 2);  // no temporary file left
}

TEST_CASE("kKeep never replaces an existing file") {
  test::TempDir dir;
  write_file_atomic(dir.path() / "a.key", "first", 0600, Existing::kKeep);
  CHECK_THROWS_AS(write_file_atomic(dir.path() / "a.key", "second", 0600, Existing::kKeep),
                  FileExistsError);
  CHECK(slurp(dir.path() / "a.key") == "first");
  CHECK(count_entries(dir.path()) == 1);
  write_file_atomic(dir.path() / "a.key", "third", 0600, Existing::kReplace);
  CHECK(slurp(dir.path() / "a.key") == "third");
}

TEST_CASE("staged files: nothing in place before install, temporary files gone after") {
  test::TempDir dir;
  UmaskScope open_umask(0);
  Folder folder(dir.path());
  std::vector<StagedFile> staged;
  for (int i = 0; i < 6; ++i) {  // enough for one syncfs on a local file system
    staged.emplace_back(folder, "f" + std::to_string(i), "data " + std::to_string(i),
                        i % 2 == 0 ? 0600 : 0644);
  }
  CHECK(count_entries(dir.path()) == 6);  // six temporary files, no final name yet
  for (int i = 0; i < 6; ++i) CHECK_FALSE(fs::exists(dir.path() / ("f" + std::to_string(i))));
  // Installing before the data is durable is a bug in the caller, caught.
  CHECK_THROWS_AS(staged[0].install(Existing::kKeep), std::logic_error);
  std::vector<StagedFile*> files;
  for (StagedFile& f : staged) files.push_back(&f);
  sync_staged(files);
  for (StagedFile& f : staged) f.install(Existing::kKeep);
  CHECK(count_entries(dir.path()) == 6);  // the final names only
  for (int i = 0; i < 6; ++i) {
    fs::path p = dir.path() / ("f" + std::to_string(i));
    CHECK(slurp(p) == "data " + std::to_string(i));
    CHECK(mode_of(p) == (i % 2 == 0 ? 0600 : 0644));
  }
}

TEST_CASE("a staged file that is never installed leaves nothing behind") {
  test::TempDir dir;
  {
    Folder folder(dir.path());
    StagedFile a(folder, "a.key", "secret", 0600);
    StagedFile b(folder, "b.key", "secret", 0600);
    sync_staged({&a, &b});
    StagedFile moved(std::move(b));  // the temporary file goes with the move
    CHECK(count_entries(dir.path()) == 2);
  }
  CHECK(count_entries(dir.path()) == 0);
}

TEST_CASE("a staged key is never linked over an existing one") {
  test::TempDir dir;
  write_file_atomic(dir.path() / "a.key", "first", 0600, Existing::kKeep);
  Folder folder(dir.path());
  StagedFile second(folder, "a.key", "second", 0600);
  sync_staged({&second});
  CHECK_THROWS_AS(second.install(Existing::kKeep), FileExistsError);
  CHECK(slurp(dir.path() / "a.key") == "first");
}

TEST_CASE("move_aside never replaces an earlier backup") {
  test::TempDir dir;
  fs::path key = dir.path() / "a.key";
  Folder folder(dir.path());
  write_file_atomic(key, "one", 0600, Existing::kKeep);
  fs::path b1 = move_aside(folder, "a.key", ".bak");
  write_file_atomic(key, "two", 0600, Existing::kKeep);
  fs::path b2 = move_aside(folder, "a.key", ".bak");
  CHECK(b1 != b2);
  CHECK(slurp(b1) == "one");
  CHECK(slurp(b2) == "two");
  CHECK_FALSE(fs::exists(key));
  CHECK(mode_of(b2) == 0600);
}

TEST_CASE("stale temporary files of dead runs are removed, live ones kept") {
  test::TempDir dir;
  // pid 2^22+1 is above Linux's pid_max default: no such process.
  dir.write(".a.key.poolcert-4194305-abcdef", "partial");
  std::string live = ".b.key.poolcert-" + std::to_string(::getpid()) + "-abcdef";
  dir.write(live, "in progress");
  CHECK(remove_stale_temps(dir.path()) == 1);
  CHECK(fs::exists(dir.path() / live));
  CHECK(is_temp_name(live));
  CHECK_FALSE(is_temp_name("a.key"));
}

TEST_CASE("an output folder that cannot be made is bad input") {
  test::TempDir dir;
  dir.write("file", "x");
  try {
    prepare_output_dir(dir.path() / "file" / "out");
    FAIL("no error");
  } catch (const IoError& e) {
    CHECK(e.kind() == ErrorKind::kBadInput);
    CHECK(std::string(e.what()).find("file/out") != std::string::npos);
  }
  prepare_output_dir(dir.path() / "new" / "deeper");
  CHECK(fs::is_directory(dir.path() / "new" / "deeper"));
  CHECK(mode_of(dir.path() / "new") == 0700);
}

TEST_CASE("read_input_file refuses folders and oversized files") {
  test::TempDir dir;
  CHECK_THROWS_AS(read_input_file(dir.path()), IoError);
  CHECK_THROWS_AS(read_input_file(dir.path() / "missing"), IoError);
  dir.write("big", std::string(2 << 20, 'x'));
  CHECK_THROWS_AS(read_input_file(dir.path() / "big", 1 << 20), BadFileError);
  // The limit as it was given: a 64 KiB limit is not "0 MiB".
  try {
    read_input_file(dir.path() / "big", 64 << 10);
    FAIL("no error");
  } catch (const BadFileError& e) {
    CHECK(std::string(e.what()).find("larger than 64 KiB") != std::string::npos);
  }
}

TEST_CASE("a target name near NAME_MAX still gets its temporary file") {
  test::TempDir dir;
  fs::path target = dir.path() / (std::string(240, 'a') + ".key");  // 244 bytes: a valid name
  write_file_atomic(target, "secret", 0600, Existing::kKeep);
  CHECK(slurp(target) == "secret");
  CHECK(count_entries(dir.path()) == 1);  // no temporary file left
}

TEST_CASE("only poolcert's own temporary file names count as its temporary files") {
  CHECK(is_temp_name(".a.key.poolcert-123-abcDE9"));
  CHECK(is_temp_name(".poolcert-probe-x1Y2z3"));
  CHECK_FALSE(is_temp_name("a.key"));
  CHECK_FALSE(is_temp_name(".web.key.poolcert-old"));      // no pid
  CHECK_FALSE(is_temp_name(".poolcert-notes.txt"));        // the marker alone
  CHECK_FALSE(is_temp_name(".a.key.poolcert-0-abcdef"));   // pid 0
  CHECK_FALSE(is_temp_name(".a.key.poolcert-12-abcde"));   // five characters, not six
  CHECK_FALSE(is_temp_name(".a.key.poolcert-12-abc.ef"));  // not mkstemp's characters
  CHECK_FALSE(is_temp_name(".poolcert-probe-notes.txt"));
  test::TempDir dir;
  dir.write(".web.key.poolcert-old", "a user's file");
  dir.write(".poolcert-notes.txt", "another");
  CHECK(remove_stale_temps(dir.path()) == 0);
  CHECK(count_entries(dir.path()) == 2);
}

TEST_CASE("make_output_dir makes every new folder 0700 under umask 000") {
  test::TempDir dir;
  UmaskScope open_umask(0);
  make_output_dir(dir.path() / "a" / "b" / "c");
  for (const char* sub : {"a", "a/b", "a/b/c"}) {
    CAPTURE(sub);
    CHECK(mode_of(dir.path() / sub) == 0700);
  }
  CHECK(count_entries(dir.path() / "a" / "b" / "c") == 0);  // no probe file: nothing written
}

TEST_CASE("check_key_permissions warns about a key another user owns") {
  if (::geteuid() != 0) return;  // only root can give a file away (CI runs as root)
  test::TempDir dir;
  fs::path key = dir.write("s.key", "secret");
  ::chmod(key.c_str(), 0600);
  REQUIRE(::chown(key.c_str(), 65534, 65534) == 0);  // nobody
  std::optional<FileWarning> w = check_key_permissions(key);
  REQUIRE(w.has_value());
  CHECK(w->mode == 0600);
  CHECK(w->message.find("owned by uid 65534") != std::string::npos);
}

TEST_CASE("check_key_permissions warns when group or others can read a key") {
  test::TempDir dir;
  fs::path key = dir.write("s.key", "secret");
  ::chmod(key.c_str(), 0600);
  CHECK_FALSE(check_key_permissions(key).has_value());
  CHECK_FALSE(check_key_permissions(dir.path() / "missing.key").has_value());
  ::chmod(key.c_str(), 0400);
  CHECK_FALSE(check_key_permissions(key).has_value());

  ::chmod(key.c_str(), 0644);
  std::optional<FileWarning> w = check_key_permissions(key);
  REQUIRE(w.has_value());
  CHECK(w->file == key);
  CHECK(w->mode == 0644);
  CHECK(w->message == key.string() +
                          " is readable by group and others (mode 0644): run chmod 600 " +
                          key.string());
  ::chmod(key.c_str(), 0640);
  REQUIRE(check_key_permissions(key).has_value());
  CHECK(check_key_permissions(key)->message.find("readable by group (mode 0640)") !=
        std::string::npos);
  ::chmod(key.c_str(), 0604);
  REQUIRE(check_key_permissions(key).has_value());
  CHECK(check_key_permissions(key)->message.find("readable by others (mode 0604)") !=
        std::string::npos);
}

TEST_CASE("check_key_permissions quotes a path the shell would split") {
  test::TempDir dir;
  fs::path key = dir.write("my keys/it's.key", "secret");
  ::chmod(key.c_str(), 0640);
  std::optional<FileWarning> w = check_key_permissions(key);
  REQUIRE(w.has_value());
  std::string quoted = "'" + (dir.path() / "my keys").string() + "/it'\\''s.key'";
  CHECK(w->message.substr(w->message.size() - quoted.size()) == quoted);
}

TEST_CASE("a folder lock excludes every other open of the folder until released") {
  test::TempDir dir;
  auto first = std::make_unique<Folder>(dir.path());
  Folder second(dir.path() / ".");  // another spelling, another open: another lock
  CHECK(first->identity() == second.identity());
  CHECK(first->try_lock());
  CHECK_FALSE(second.try_lock());
  first.reset();  // released by closing the folder
  CHECK(second.try_lock());
  CHECK_THROWS_AS(Folder(dir.path() / "missing"), IoError);
}

TEST_CASE(
    "lock_folders locks in (device, inode) order and, with kNoWait, keeps nothing when one "
    "is held") {
  test::TempDir dir;
  fs::create_directory(dir.path() / "a");
  fs::create_directory(dir.path() / "b");
  {
    Folder b(dir.path() / "b");
    Folder a(dir.path() / "a");
    lock_folders({&b, &a}, LockWait::kWait, nullptr);
    Folder other(dir.path() / "a");
    CHECK_FALSE(other.try_lock());
  }
  Folder held(dir.path() / "b");
  REQUIRE(held.try_lock());
  bool waited = false;
  Folder a(dir.path() / "a");
  Folder b(dir.path() / "b");
  CHECK_THROWS_AS(
      lock_folders({&a, &b}, LockWait::kNoWait, [&](const fs::path&) { waited = true; }),
      FolderBusyError);
  CHECK_FALSE(waited);
  Folder again(dir.path() / "a");
  CHECK(again.try_lock());  // released again by the failed lock_folders
}

TEST_CASE("lock_folders says which folder it waits for, then waits until it is free") {
  test::TempDir dir;
  auto held = std::make_unique<Folder>(dir.path());
  REQUIRE(held->try_lock());
  std::promise<fs::path> waiting;
  std::future<fs::path> waiting_for = waiting.get_future();
  std::atomic<bool> locked{false};
  std::thread runner([&] {
    Folder folder(dir.path());
    lock_folders({&folder}, LockWait::kWait, [&](const fs::path& d) { waiting.set_value(d); });
    locked = true;
  });
  REQUIRE(waiting_for.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(waiting_for.get() == dir.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(locked.load());
  held.reset();
  runner.join();
  CHECK(locked.load());
}

TEST_CASE("read_file_at refuses a symlink unless asked to follow it, naming the target") {
  test::TempDir dir;
  dir.write("real.key", "secret");
  fs::create_symlink("real.key", dir.path() / "link.key");
  Folder folder(dir.path());
  try {
    read_file_at(folder, "link.key", Symlinks::kRefuse);
    FAIL("no error");
  } catch (const SymlinkError& e) {
    CHECK(e.kind() == ErrorKind::kBadInput);
    std::string what = e.what();
    CHECK(what.find("link.key: is a symbolic link (to real.key)") != std::string::npos);
    CHECK(what.find("--follow-key-symlinks") != std::string::npos);
  }
  CHECK(read_file_at(folder, "link.key", Symlinks::kFollow).data == "secret");
  CHECK(read_file_at(folder, "real.key", Symlinks::kRefuse).data == "secret");
  CHECK_FALSE(stat_at(folder, "missing.key").has_value());
  CHECK(S_ISLNK(stat_at(folder, "link.key")->st_mode));
}

TEST_CASE("folder_safety: unsafe without the sticky bit, a warning with it, nothing for 0700") {
  struct stat st {};
  st.st_uid = ::geteuid();
  st.st_mode = S_IFDIR | 0700;
  CHECK_FALSE(folder_safety("out", st).has_value());
  st.st_mode = S_IFDIR | 0775;
  auto group = folder_safety("out", st);
  REQUIRE(group.has_value());
  CHECK(group->unsafe);
  CHECK(group->warning.message.find("writable by group (mode 0775) without the sticky bit") !=
        std::string::npos);
  st.st_mode = S_IFDIR | 01777;
  auto sticky = folder_safety("/tmp", st);
  REQUIRE(sticky.has_value());
  CHECK_FALSE(sticky->unsafe);
  CHECK(sticky->warning.mode == 01777);
  st.st_mode = S_IFDIR | 0700;
  st.st_uid = ::geteuid() + 1 == 0 ? 2 : ::geteuid() + 1;  // neither this user nor root
  auto foreign = folder_safety("out", st);
  REQUIRE(foreign.has_value());
  CHECK(foreign->unsafe);
  st.st_uid = 0;  // root's folder, only root can write: fine for anyone
  CHECK_FALSE(folder_safety("out", st).has_value());
}

TEST_CASE("folder_identity is one for every spelling, even of a folder not made yet") {
  test::TempDir dir;
  fs::create_directory(dir.path() / "out");
  fs::create_directory_symlink("out", dir.path() / "alias");
  CHECK_FALSE(folder_identity(dir.path() / "out") < folder_identity(dir.path() / "alias"));
  CHECK_FALSE(folder_identity(dir.path() / "alias") < folder_identity(dir.path() / "out"));
  FolderIdentity a = folder_identity(dir.path() / "out" / "new");
  FolderIdentity b = folder_identity(dir.path() / "alias" / "new");
  CHECK(a.device == b.device);
  CHECK(a.inode == b.inode);
  CHECK(a.rest == "new");
  CHECK(b.rest == "new");
  CHECK(folder_identity(dir.path() / "out" / "other").rest == "other");
}

TEST_CASE("check_can_create makes nothing and refuses a path through a file") {
  test::TempDir dir;
  dir.write("file", "x");
  CHECK_THROWS_AS(check_can_create(dir.path() / "file" / "out"), IoError);
  CHECK_THROWS_AS(check_can_create(dir.path() / "file"), IoError);
  check_can_create(dir.path() / "a" / "b");
  CHECK_FALSE(fs::exists(dir.path() / "a"));
}
