// What the libFuzzer targets of tests/fuzz share: the source tree's place, a scratch folder per
// process, and invariant checks that stop the run (libFuzzer then saves the input as a crash).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace poolcert_fuzz {

// The source tree (compile definition), for templates/ and tests/fuzz/data/.
inline const std::filesystem::path kSource = POOLCERT_FUZZ_SOURCE;

// require stops the run with `what` when an invariant does not hold.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// ScratchDir is a folder of this process under $TMPDIR (the ctest sets it inside the build
// folder), removed when the process exits normally. Workers of -jobs/-fork get one each.
class ScratchDir {
 public:
  explicit ScratchDir(const char* tag) {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
            (std::string("poolcert-") + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// write_file replaces `file` with `bytes`.
inline void write_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  require(static_cast<bool>(out), "writing the scratch file");
}

}  // namespace poolcert_fuzz
