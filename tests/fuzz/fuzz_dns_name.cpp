// libFuzzer target: check_dns_name on any bytes, with and without wildcards, and the invariants
// every caller relies on: an accepted name is normalised (lower case, at most 253 characters, no
// trailing dot, letters, digits, hyphens and dots, '*' only as a whole first label) and checking
// it again accepts it unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "poolcert/model/dns_name.hpp"

namespace {

using poolcert_fuzz::require;

bool normalised_chars(std::string_view name, bool wildcard) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ldh = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ldh && !(wildcard && i == 0 && c == '*')) return false;
  }
  return true;
}

void check_one(std::string_view input, bool allow_wildcard) {
  poolcert::NameCheck r = poolcert::check_dns_name(input, allow_wildcard);
  if (!r.ok()) {
    require(r.name.empty(), "a refused name has no normalised name");
    require(!r.wildcard, "a refused name is not flagged wildcard");
    return;
  }
  const std::string& name = r.name;
  require(!name.empty(), "an accepted name is not empty");
  require(name.size() <= 253, "an accepted name has at most 253 characters");
  require(name.back() != '.', "an accepted name has no trailing dot");
  require(name.front() != '.' && name.find("..") == std::string::npos, "no empty label");
  require(normalised_chars(name, r.wildcard), "an accepted name is lower-case LDH");
  require(allow_wildcard || !r.wildcard, "a wildcard only when allowed");
  require(r.wildcard == (name.rfind("*.", 0) == 0), "wildcard flag matches the name");
  // The input is the name up to case and one trailing dot.
  std::string_view bare = input;
  if (bare.size() == name.size() + 1 && bare.back() == '.') bare.remove_suffix(1);
  require(poolcert::same_dns_name(bare, name), "the name is the input, lower-cased");
  require(poolcert::to_lower_ascii(name) == name, "to_lower_ascii keeps a normalised name");

  poolcert::NameCheck again = poolcert::check_dns_name(name, allow_wildcard);
  require(again.ok() && again.name == name && again.wildcard == r.wildcard,
          "checking an accepted name again gives it back unchanged");
  if (!allow_wildcard) {  // allowing wildcards never refuses a name accepted without them
    poolcert::NameCheck wide = poolcert::check_dns_name(input, true);
    require(wide.ok() && wide.name == name && !wide.wildcard, "wildcards allowed: same name");
  }
  std::string trailing = name + ".";
  poolcert::NameCheck fqdn = poolcert::check_dns_name(trailing, allow_wildcard);
  require(fqdn.ok() && fqdn.name == name, "a trailing dot is dropped");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_one(input, false);
  check_one(input, true);
  return 0;
}
