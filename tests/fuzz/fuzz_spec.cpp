// libFuzzer target: load_spec on any text, written to a spec file in a scratch folder of this
// process. Text after a line "#--- profiles/fuzzed.toml" goes to that file beside the spec, so a
// spec with `profile = "fuzzed"` fuzzes the profile loader too (the seeds do both). Profiles named
// otherwise are looked up in templates/profiles. poolcert::Error is the expected way to refuse a
// spec; anything else escaping, or a sanitizer report, is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/toml/spec_toml.hpp"

namespace {

namespace fs = std::filesystem;
constexpr std::string_view kProfileMark = "\n#--- profiles/fuzzed.toml\n";

struct Files {
  poolcert_fuzz::ScratchDir dir{"fuzz_spec"};
  fs::path spec = dir.path() / "pool.toml";
  fs::path profile = dir.path() / "profiles" / "fuzzed.toml";
  poolcert::ProfileSearch search{{poolcert_fuzz::kSource / "templates/profiles"}};
  Files() { fs::create_directories(profile.parent_path()); }
};

Files& files() {
  static Files f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Files& f = files();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t mark = text.find(kProfileMark);
  std::error_code ec;
  fs::remove(f.profile, ec);
  if (mark != std::string_view::npos) {
    poolcert_fuzz::write_file(f.profile, text.substr(mark + kProfileMark.size()));
    text = text.substr(0, mark);
    try {
      (void)poolcert::load_profile(f.profile);
    } catch (const poolcert::Error&) {
    }
  }
  poolcert_fuzz::write_file(f.spec, text);
  try {
    poolcert::PoolSpec spec = poolcert::load_spec(f.spec, f.search);
    poolcert_fuzz::require(!spec.servers.empty(), "a loaded spec has servers");
  } catch (const poolcert::Error&) {
  }
  return 0;
}
