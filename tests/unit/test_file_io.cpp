#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "poolcert/error.hpp"
#include "poolcert/file_io.hpp"
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

TEST_CASE("move_aside never replaces an earlier backup") {
  test::TempDir dir;
  fs::path key = dir.path() / "a.key";
  write_file_atomic(key, "one", 0600, Existing::kKeep);
  fs::path b1 = move_aside(key, ".bak");
  write_file_atomic(key, "two", 0600, Existing::kKeep);
  fs::path b2 = move_aside(key, ".bak");
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
}
