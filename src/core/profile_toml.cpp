// Profiles: the role rules under templates/profiles/, read from TOML into Profile.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

#include "poolcert/derive.hpp"
#include "poolcert/dns_name.hpp"
#include "poolcert/spec_toml.hpp"
#include "poolcert/x509_vocab.hpp"
#include "toml_reader.hpp"

namespace poolcert {
namespace fs = std::filesystem;
using namespace toml_layer;
namespace {

std::vector<std::string> vocabulary_at(const Reader& r, const Value& v, const std::string& field,
                                       bool (*known)(const std::string&), const char* what) {
  std::vector<std::string> names = r.strings_at(v, field);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!known(names[i])) {
      r.fail(v.as_array()[i], field + "[" + std::to_string(i) + "]",
             quote_value(names[i]) + " is not a known " + what);
    }
  }
  return names;
}

KeyRule key_rule_at(const Reader& r, const Value& v, const std::string& field) {
  r.expect(v, toml::value_t::table, field);
  r.reject_unknown(v, field + ".", {"type", "bits", "curves"});
  KeyRule rule;
  rule.type = key_type_at(r, r.require(v, "type", field + ".type"), field + ".type");
  if (rule.type == KeyType::kRsa) {
    const Value& bits = r.require(v, "bits", field + ".bits");
    for (std::size_t i = 0;
         const Value& b : r.expect(bits, toml::value_t::array, field + ".bits").as_array()) {
      rule.rsa_bits.push_back(rsa_bits_at(r, b, field + ".bits[" + std::to_string(i++) + "]"));
    }
  } else {
    const Value& curves = r.require(v, "curves", field + ".curves");
    for (std::size_t i = 0;
         const Value& c : r.expect(curves, toml::value_t::array, field + ".curves").as_array()) {
      rule.curves.push_back(curve_at(r, c, field + ".curves[" + std::to_string(i++) + "]"));
    }
  }
  return rule;
}

// A DNS record rule is the pool's: a server's placeholder has no one value there (such a rule
// failed every spec at its [pool], or was silently never written when it was the `when`).
void check_pool_level(const Reader& r, const Value& v, const std::string& field,
                      const std::vector<std::string>& placeholders) {
  for (const std::string& p : placeholders) {
    if (p == "server_fqdn" || p == "server_host") {
      r.fail(v, field,
             "{" + p +
                 "} is a server's placeholder: a DNS record rule is the pool's (use the "
                 "pool's placeholders)");
    }
  }
}

DnsRecordRule dns_rule_at(const Reader& r, const Value& v, const std::string& field) {
  r.expect(v, toml::value_t::table, field);
  r.reject_unknown(
      v, field + ".",
      {"type", "name", "address", "target", "priority", "weight", "port", "when", "why"});
  DnsRecordRule rule;
  const Value& type = r.require(v, "type", field + ".type");
  rule.type = r.string_at(type, field + ".type");
  rule.name = pattern_at(r, r.require(v, "name", field + ".name"), field + ".name");
  if (rule.type == "A") {
    const Value& address = r.require(v, "address", field + ".address");
    rule.address = pattern_at(r, address, field + ".address");
    if (pattern_placeholders(rule.address).empty() && !is_ipv4_address(rule.address)) {
      r.fail(address, field + ".address",
             quote_value(rule.address) + " is not an IPv4 address (dotted quad) or a pattern");
    }
  } else if (rule.type == "CNAME" || rule.type == "SRV") {
    rule.target = pattern_at(r, r.require(v, "target", field + ".target"), field + ".target");
  } else {
    r.fail(type, field + ".type",
           quote_value(rule.type) + " is not a record type poolcert makes (A, CNAME, SRV)");
  }
  if (rule.type == "SRV") {
    const Value& port = r.require(v, "port", field + ".port");
    rule.port = port.is_integer() ? std::to_string(int_at(r, port, field + ".port", 1, 65535))
                                  : pattern_at(r, port, field + ".port");
    if (pattern_placeholders(rule.port).empty() && !port_number(rule.port)) {
      r.fail(port, field + ".port", quote_value(rule.port) + " is not a port (1 to 65535)");
    }
    if (const Value* p = r.find(v, "priority"))
      rule.priority = int_at(r, *p, field + ".priority", 0, 65535);
    if (const Value* w = r.find(v, "weight"))
      rule.weight = int_at(r, *w, field + ".weight", 0, 65535);
  }
  if (const Value* w = r.find(v, "when")) {
    rule.when = r.string_at(*w, field + ".when");
    const auto& known = known_placeholders();
    if (std::find(known.begin(), known.end(), rule.when) == known.end()) {
      r.fail(*w, field + ".when", quote_value(rule.when) + " is not a placeholder name");
    }
  }
  if (const Value* why = r.find(v, "why")) rule.why = r.string_at(*why, field + ".why");
  for (const char* member : {"name", "address", "target", "port", "when"}) {
    const Value* m = r.find(v, member);
    if (m == nullptr || !m->is_string()) continue;
    const std::string& text = m->as_string();
    check_pool_level(r, *m, field + "." + member,
                     std::string(member) == "when" ? std::vector<std::string>{text}
                                                   : pattern_placeholders(text));
  }
  return rule;
}

void read_profile_dns(const Reader& r, const Value& dns, Profile& p) {
  r.expect(dns, toml::value_t::table, "dns");
  r.reject_unknown(dns, "dns.", {"record"});
  const Value& records =
      r.expect(r.require(dns, "record", "dns.record"), toml::value_t::array, "dns.record");
  for (std::size_t i = 0; i < records.as_array().size(); ++i) {
    p.dns_records.push_back(
        dns_rule_at(r, records.as_array()[i], "dns.record[" + std::to_string(i) + "]"));
  }
}

void read_profile_key(const Reader& r, const Value& key, Profile& p) {
  r.reject_unknown(key, "key.", {"allowed", "default", "exportable"});
  if (const Value* v = r.find(key, "exportable")) {
    p.exportable = r.expect(*v, toml::value_t::boolean, "key.exportable").as_boolean();
  }
  const Value& allowed =
      r.expect(r.require(key, "allowed", "key.allowed"), toml::value_t::array, "key.allowed");
  for (std::size_t i = 0; const Value& rule : allowed.as_array()) {
    p.allowed_keys.push_back(key_rule_at(r, rule, "key.allowed[" + std::to_string(i++) + "]"));
  }
  if (p.allowed_keys.empty()) r.fail(allowed, "key.allowed", "a profile must allow some key");
  const Value& def = r.require(key, "default", "key.default");
  p.default_key = key_at(r, def, "key.default.", KeySpec{});
  if (!profile_allows_key(p, p.default_key)) {
    r.fail(def, "key.default", describe_key(p.default_key) + " is not among key.allowed");
  }
}

}  // namespace

ProfileSearch default_profile_search() {
  ProfileSearch search;
  if (const char* env = std::getenv("POOLCERT_PROFILE_PATH"); env != nullptr) {
    std::stringstream ss(env);
    for (std::string dir; std::getline(ss, dir, ':');) {
      if (!dir.empty()) search.dirs.emplace_back(dir);
    }
  }
#ifdef POOLCERT_INSTALLED_PROFILES
  search.dirs.emplace_back(POOLCERT_INSTALLED_PROFILES);
#endif
#ifdef POOLCERT_SOURCE_PROFILES
  search.dirs.emplace_back(POOLCERT_SOURCE_PROFILES);
#endif
  return search;
}

fs::path resolve_profile(const std::string& ref, const fs::path& spec_file,
                         const ProfileSearch& search) {
  fs::path base = spec_file.parent_path();
  std::error_code ec;
  bool is_path = ref.find('/') != std::string::npos ||
                 (ref.size() > 5 && ref.compare(ref.size() - 5, 5, ".toml") == 0);
  if (is_path) {
    fs::path p = fs::path(ref).is_absolute() ? fs::path(ref) : base / ref;
    return fs::is_regular_file(p, ec) ? p.lexically_normal() : fs::path();
  }
  // [a-z0-9][a-z0-9._-]*, by hand: std::regex recursed per character and overflowed the stack on
  // a long name (reproducer: tests/fuzz/regressions/fuzz_spec/).
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  if (ref.empty() || !std::all_of(ref.begin(), ref.end(), name_char) || ref[0] == '.' ||
      ref[0] == '_' || ref[0] == '-') {
    return {};
  }
  std::vector<fs::path> dirs = {base / "profiles"};
  dirs.insert(dirs.end(), search.dirs.begin(), search.dirs.end());
  for (const fs::path& dir : dirs) {
    fs::path p = dir / (ref + ".toml");
    if (fs::is_regular_file(p, ec)) return p.lexically_normal();
  }
  return {};
}

std::vector<fs::path> find_profiles(const ProfileSearch& search) {
  std::map<std::string, fs::path> by_name;
  for (const fs::path& dir : search.dirs) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".toml")
        by_name.emplace(it->path().stem().string(), it->path());
    }
  }
  std::vector<fs::path> out;
  for (auto& [name, file] : by_name) out.push_back(file);
  return out;
}

Profile load_profile(const fs::path& file) {
  Reader r(file);
  Value root = r.parse();
  r.set_root(&root);
  r.reject_unknown(root, "",
                   {"description", "source", "subject", "san", "eku", "key_usage", "key",
                    "signature", "dns", "template"});
  Profile p;
  p.file = file;
  p.name = file.stem().string();
  if (const Value* t = r.find(root, "template")) {
    p.template_name = r.string_at(*t, "template");
    if (std::string why = template_name_problem(p.template_name); !why.empty()) {
      r.fail(*t, "template", why);
    }
  }
  if (const Value* d = r.find(root, "description")) p.description = r.string_at(*d, "description");
  if (const Value* s = r.find(root, "source")) r.string_at(*s, "source");

  const Value& subject =
      r.expect(r.require(root, "subject", "subject"), toml::value_t::table, "subject");
  r.reject_unknown(subject, "subject.", {"cn"});
  p.cn_pattern = pattern_at(r, r.require(subject, "cn", "subject.cn"), "subject.cn");

  const Value& san = r.expect(r.require(root, "san", "san"), toml::value_t::table, "san");
  r.reject_unknown(san, "san.", {"dns", "wildcards"});
  const Value& dns = r.expect(r.require(san, "dns", "san.dns"), toml::value_t::array, "san.dns");
  for (std::size_t i = 0; i < dns.as_array().size(); ++i) {
    p.san_patterns.push_back(
        pattern_at(r, dns.as_array()[i], "san.dns[" + std::to_string(i) + "]"));
  }
  if (const Value* w = r.find(san, "wildcards")) {
    p.allow_wildcards = r.expect(*w, toml::value_t::boolean, "san.wildcards").as_boolean();
  }

  const Value& eku = r.expect(r.require(root, "eku", "eku"), toml::value_t::table, "eku");
  r.reject_unknown(eku, "eku.", {"request", "require", "recommend"});
  p.eku_request = vocabulary_at(r, r.require(eku, "request", "eku.request"), "eku.request",
                                is_known_eku, "extended key usage");
  if (const Value* v = r.find(eku, "require")) {
    p.eku_require = vocabulary_at(r, *v, "eku.require", is_known_eku, "extended key usage");
  }
  if (const Value* v = r.find(eku, "recommend")) {
    p.eku_recommend = vocabulary_at(r, *v, "eku.recommend", is_known_eku, "extended key usage");
  }

  const Value& ku = r.require(root, "key_usage", "key_usage");
  p.key_usage = vocabulary_at(r, ku, "key_usage", is_known_key_usage, "key usage");

  read_profile_key(r, r.expect(r.require(root, "key", "key"), toml::value_t::table, "key"), p);

  if (const Value* sig = r.find(root, "signature")) {
    r.expect(*sig, toml::value_t::table, "signature");
    r.reject_unknown(*sig, "signature.", {"digest", "allow_sha1", "allow_rsassa_pss"});
    if (const Value* d = r.find(*sig, "digest")) {
      p.digest = r.string_at(*d, "signature.digest");
      if (p.digest != "sha256" && p.digest != "sha384" && p.digest != "sha512") {
        r.fail(*d, "signature.digest", quote_value(p.digest) + " is not sha256, sha384 or sha512");
      }
    }
    if (const Value* v = r.find(*sig, "allow_sha1")) {
      p.allow_sha1_signature =
          r.expect(*v, toml::value_t::boolean, "signature.allow_sha1").as_boolean();
    }
    if (const Value* v = r.find(*sig, "allow_rsassa_pss")) {
      p.allow_rsassa_pss =
          r.expect(*v, toml::value_t::boolean, "signature.allow_rsassa_pss").as_boolean();
    }
  }
  if (const Value* records = r.find(root, "dns")) read_profile_dns(r, *records, p);
  return p;
}

}  // namespace poolcert
