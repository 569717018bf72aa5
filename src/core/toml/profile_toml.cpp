// Profiles: the role rules under templates/profiles/, read from TOML into Profile.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <tuple>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/toml/spec_toml.hpp"
#include "poolcert/x509/x509_vocab.hpp"
#include "toml/toml_reader.hpp"

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

bool is_switch_or_placeholder(const std::string& name) {
  const auto& known = known_placeholders();
  return std::find(known.begin(), known.end(), name) != known.end();
}

// Reads a rule's `when` / `unless`: each names a placeholder or switch.
// Reads a rule's `when` / `unless`: a name, or a list of names (all of them), each a placeholder
// or switch.
Condition condition_at(const Reader& r, const Value& table, const std::string& prefix) {
  Condition c;
  for (auto [key, target] : {std::pair{"when", &c.when}, std::pair{"unless", &c.unless}}) {
    const Value* v = r.find(table, key);
    if (v == nullptr) continue;
    std::string field = prefix + key;
    *target =
        v->is_array() ? r.strings_at(*v, field) : std::vector<std::string>{r.string_at(*v, field)};
    for (std::size_t i = 0; i < target->size(); ++i) {
      if (is_switch_or_placeholder((*target)[i])) continue;
      r.fail(v->is_array() ? v->as_array()[i] : *v,
             v->is_array() ? field + "[" + std::to_string(i) + "]" : field,
             quote_value((*target)[i]) + " is not a placeholder or switch name");
    }
  }
  return c;
}

// A pattern may name many-valued placeholders of one family only, across the fields of a rule.
void check_one_family(const Reader& r, const Value& v, const std::string& field,
                      const std::vector<std::string>& patterns) {
  std::string family;
  for (const std::string& p : patterns) {
    std::string f = placeholder_family_of(p);
    if (f.empty()) continue;
    if (!family.empty() && f != family) {
      r.fail(v, field, "names two many-valued lists ({" + family + "} and {" + f + "})");
    }
    family = f;
  }
}

// A DNS record rule is the pool's unless it says per = "server": a server's placeholder has no
// one value elsewhere (such a rule failed every spec at its [pool], or was silently never
// written when it was the `when`).
void check_pool_level(const Reader& r, const Value& v, const std::string& field,
                      const std::vector<std::string>& placeholders, const std::string& what) {
  for (const std::string& p : placeholders) {
    if (is_server_placeholder(p)) {
      r.fail(v, field, "{" + p + "} is a server's placeholder: " + what);
    }
  }
}

void read_record_value(const Reader& r, const Value& v, const std::string& field,
                       DnsRecordRule& rule) {
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
    r.fail(r.require(v, "type", field + ".type"), field + ".type",
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
}

DnsRecordRule dns_rule_at(const Reader& r, const Value& v, const std::string& field) {
  r.expect(v, toml::value_t::table, field);
  r.reject_unknown(v, field + ".",
                   {"type", "name", "address", "target", "priority", "weight", "port", "when",
                    "unless", "per", "legacy", "view", "why"});
  DnsRecordRule rule;
  rule.type = r.string_at(r.require(v, "type", field + ".type"), field + ".type");
  rule.name = pattern_at(r, r.require(v, "name", field + ".name"), field + ".name");
  read_record_value(r, v, field, rule);
  rule.condition = condition_at(r, v, field + ".");
  if (const Value* per = r.find(v, "per")) {
    std::string text = r.string_at(*per, field + ".per");
    if (text != "server" && text != "pool") {
      r.fail(*per, field + ".per", quote_value(text) + " is not pool or server");
    }
    rule.per_server = text == "server";
  }
  if (const Value* l = r.find(v, "legacy")) rule.legacy = bool_at(r, *l, field + ".legacy");
  if (const Value* view = r.find(v, "view")) {
    rule.view = r.string_at(*view, field + ".view");
    if (rule.view != "internal" && rule.view != "external") {
      r.fail(*view, field + ".view", quote_value(rule.view) + " is not internal or external");
    }
  }
  if (const Value* why = r.find(v, "why")) rule.why = r.string_at(*why, field + ".why");
  check_one_family(r, v, field, {rule.name, rule.address, rule.target, rule.port});
  if (rule.per_server) return rule;
  const std::string what = "a DNS record rule is the pool's unless it says per = \"server\"";
  for (const char* member : {"name", "address", "target", "port"}) {
    const Value* m = r.find(v, member);
    if (m == nullptr || !m->is_string()) continue;
    check_pool_level(r, *m, field + "." + member, pattern_placeholders(m->as_string()), what);
  }
  for (auto [member, names] :
       {std::pair{"when", &rule.condition.when}, std::pair{"unless", &rule.condition.unless}}) {
    if (!names->empty())
      check_pool_level(r, *r.find(v, member), field + "." + member, *names, what);
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
  r.reject_unknown(key, "key.", {"allowed", "default", "exportable", "shared"});
  if (const Value* v = r.find(key, "exportable")) p.exportable = bool_at(r, *v, "key.exportable");
  if (const Value* v = r.find(key, "shared")) p.shared = bool_at(r, *v, "key.shared");
  p.allowed_keys = key_rules_at(r, r.require(key, "allowed", "key.allowed"), "key.allowed");
  const Value& def = r.require(key, "default", "key.default");
  p.default_key = key_at(r, def, "key.default.", KeySpec{});
  if (!profile_allows_key(p, p.default_key)) {
    r.fail(def, "key.default", describe_key(p.default_key) + " is not among key.allowed");
  }
}

// One SAN entry: a pattern, or a table { name, when, unless, why }.
NameRule name_rule_at(const Reader& r, const Value& v, const std::string& field) {
  NameRule rule;
  if (v.is_string()) {
    rule.pattern = pattern_at(r, v, field);
    return rule;
  }
  r.expect(v, toml::value_t::table, field);
  r.reject_unknown(v, field + ".", {"name", "when", "unless", "why", "required"});
  rule.pattern = pattern_at(r, r.require(v, "name", field + ".name"), field + ".name");
  rule.condition = condition_at(r, v, field + ".");
  if (const Value* why = r.find(v, "why")) rule.why = r.string_at(*why, field + ".why");
  if (const Value* req = r.find(v, "required"))
    rule.required = bool_at(r, *req, field + ".required");
  return rule;
}

// Patterns listed in `key` must each be one of the profile's SAN patterns.
std::vector<std::string> san_subset_at(const Reader& r, const Value& san, const char* key,
                                       const Profile& p) {
  std::vector<std::string> out;
  const Value* v = r.find(san, key);
  if (v == nullptr) return out;
  std::string field = std::string("san.") + key;
  out = r.strings_at(*v, field);
  for (std::size_t i = 0; i < out.size(); ++i) {
    bool listed = std::any_of(p.san_rules.begin(), p.san_rules.end(),
                              [&](const NameRule& n) { return n.pattern == out[i]; });
    if (!listed) {
      r.fail(v->as_array()[i], field + "[" + std::to_string(i) + "]",
             quote_value(out[i]) + " is not one of san.dns");
    }
  }
  return out;
}

void read_profile_san(const Reader& r, const Value& root, Profile& p) {
  const Value& san = r.expect(r.require(root, "san", "san"), toml::value_t::table, "san");
  r.reject_unknown(san, "san.", {"dns", "wildcards", "wildcard_replaces", "exclusive"});
  const Value& dns = r.expect(r.require(san, "dns", "san.dns"), toml::value_t::array, "san.dns");
  for (std::size_t i = 0; i < dns.as_array().size(); ++i) {
    p.san_rules.push_back(name_rule_at(r, dns.as_array()[i], "san.dns[" + std::to_string(i) + "]"));
  }
  if (const Value* w = r.find(san, "wildcards"))
    p.allow_wildcards = bool_at(r, *w, "san.wildcards");
  p.wildcard_replaces = san_subset_at(r, san, "wildcard_replaces", p);
  p.exclusive = san_subset_at(r, san, "exclusive", p);
  if (!p.allow_wildcards && !p.wildcard_replaces.empty()) {
    r.fail(*r.find(san, "wildcard_replaces"), "san.wildcard_replaces",
           "needs san.wildcards = true (no wildcard may stand for these names)");
  }
}

void read_profile_eku(const Reader& r, const Value& root, Profile& p) {
  const Value& eku = r.expect(r.require(root, "eku", "eku"), toml::value_t::table, "eku");
  r.reject_unknown(eku, "eku.", {"request", "require", "recommend", "request_when"});
  p.eku_request = vocabulary_at(r, r.require(eku, "request", "eku.request"), "eku.request",
                                is_known_eku, "extended key usage");
  if (const Value* v = r.find(eku, "require")) {
    p.eku_require = vocabulary_at(r, *v, "eku.require", is_known_eku, "extended key usage");
  }
  if (const Value* v = r.find(eku, "recommend")) {
    p.eku_recommend = vocabulary_at(r, *v, "eku.recommend", is_known_eku, "extended key usage");
  }
  if (const Value* v = r.find(eku, "request_when")) {
    r.expect(*v, toml::value_t::table, "eku.request_when");
    for (const auto& [name, list] : v->as_table()) {
      std::string field = "eku.request_when." + name;
      if (!is_switch_or_placeholder(name)) {
        r.fail(list, field, quote_value(name) + " is not a placeholder or switch name");
      }
      p.eku_when.push_back(
          {name, vocabulary_at(r, list, field, is_known_eku, "extended key usage")});
    }
  }
}

CheckLevel level_at(const Reader& r, const Value& v, const std::string& field, bool may_warn) {
  std::string s = r.string_at(v, field);
  if (s == "fail") return CheckLevel::kFail;
  if (s == "warn" && may_warn) return CheckLevel::kWarn;
  if (s == "ignore") return CheckLevel::kIgnore;
  r.fail(v, field,
         quote_value(s) + (may_warn ? " is not fail, warn or ignore" : " is not fail or ignore"));
}

// [signature] digest, and the two rules older profiles give there (allow_sha1, allow_rsassa_pss),
// which [verify] now holds.
void read_profile_signature(const Reader& r, const Value& sig, Profile& p) {
  r.expect(sig, toml::value_t::table, "signature");
  r.reject_unknown(sig, "signature.", {"digest", "allow_sha1", "allow_rsassa_pss"});
  if (const Value* d = r.find(sig, "digest")) {
    p.digest = r.string_at(*d, "signature.digest");
    if (p.digest != "sha256" && p.digest != "sha384" && p.digest != "sha512") {
      r.fail(*d, "signature.digest", quote_value(p.digest) + " is not sha256, sha384 or sha512");
    }
  }
  if (const Value* v = r.find(sig, "allow_sha1")) {
    p.verify.sha1 = bool_at(r, *v, "signature.allow_sha1") ? CheckLevel::kWarn : CheckLevel::kFail;
  }
  if (const Value* v = r.find(sig, "allow_rsassa_pss")) {
    p.verify.rsassa_pss =
        bool_at(r, *v, "signature.allow_rsassa_pss") ? CheckLevel::kIgnore : CheckLevel::kFail;
  }
}

void read_profile_verify(const Reader& r, const Value& root, Profile& p) {
  const Value* v = r.find(root, "verify");
  if (v == nullptr) return;
  r.expect(*v, toml::value_t::table, "verify");
  r.reject_unknown(*v, "verify.", {"cdp", "cdp_http", "aia", "sha1", "rsassa_pss", "min_rsa_bits"});
  const Value* sig = r.find(root, "signature");
  for (auto [key, target, may_warn] :
       {std::tuple{"cdp", &p.verify.cdp, true}, std::tuple{"cdp_http", &p.verify.cdp_http, true},
        std::tuple{"aia", &p.verify.aia, true}, std::tuple{"sha1", &p.verify.sha1, true},
        std::tuple{"rsassa_pss", &p.verify.rsassa_pss, false}}) {
    const Value* level = r.find(*v, key);
    if (level == nullptr) continue;
    std::string old = std::string(key) == "sha1" ? "allow_sha1" : "allow_rsassa_pss";
    if ((std::string(key) == "sha1" || std::string(key) == "rsassa_pss") && sig != nullptr &&
        r.find(*sig, old.c_str()) != nullptr) {
      r.fail(*level, std::string("verify.") + key, "given twice: also signature." + old);
    }
    *target = level_at(r, *level, std::string("verify.") + key, may_warn);
  }
  if (const Value* bits = r.find(*v, "min_rsa_bits")) {
    p.verify.min_rsa_bits = int_at(r, *bits, "verify.min_rsa_bits", kMinRsaBits, 16384);
  }
}

// Products the profile applies to: names of the product table.
void read_profile_products(const Reader& r, const Value& root, Profile& p) {
  if (const Value* v = r.find(root, "products")) {
    p.products = r.strings_at(*v, "products");
    if (p.products.empty()) r.fail(*v, "products", "empty: list the products it applies to");
    for (std::size_t i = 0; i < p.products.size(); ++i) {
      if (find_product(p.products[i]) == nullptr) {
        r.fail(v->as_array()[i], "products[" + std::to_string(i) + "]",
               quote_value(p.products[i]) + " is not a product (" + product_names() + ")");
      }
    }
  }
  if (const Value* s = r.find(root, "products_source")) {
    p.products_source = r.string_at(*s, "products_source");
  }
}

// A shared certificate is the pool's: its names cannot depend on one server.
void check_shared_names(const Reader& r, const Value& root, const Profile& p) {
  if (!p.shared) return;
  const Value& subject = *r.find(root, "subject");
  check_pool_level(r, *r.find(subject, "cn"), "subject.cn", pattern_placeholders(p.cn_pattern),
                   "a shared certificate ([key] shared) is the pool's");
  const Value& dns = *r.find(*r.find(root, "san"), "dns");
  for (std::size_t i = 0; i < p.san_rules.size(); ++i) {
    const NameRule& rule = p.san_rules[i];
    std::vector<std::string> names = pattern_placeholders(rule.pattern);
    names.insert(names.end(), rule.condition.when.begin(), rule.condition.when.end());
    names.insert(names.end(), rule.condition.unless.begin(), rule.condition.unless.end());
    check_pool_level(r, dns.as_array()[i], "san.dns[" + std::to_string(i) + "]", names,
                     "a shared certificate ([key] shared) is the pool's");
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
                   {"description", "source", "role", "products", "products_source", "subject",
                    "san", "eku", "key_usage", "key", "signature", "verify", "dns", "template"});
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
  if (const Value* s = r.find(root, "source")) p.source = r.string_at(*s, "source");
  if (const Value* s = r.find(root, "role")) p.role = r.string_at(*s, "role");
  read_profile_products(r, root, p);

  const Value& subject =
      r.expect(r.require(root, "subject", "subject"), toml::value_t::table, "subject");
  r.reject_unknown(subject, "subject.", {"cn"});
  p.cn_pattern = pattern_at(r, r.require(subject, "cn", "subject.cn"), "subject.cn");
  if (!placeholder_family_of(p.cn_pattern).empty()) {
    r.fail(*r.find(subject, "cn"), "subject.cn", "the CN is one name: no many-valued placeholder");
  }
  read_profile_san(r, root, p);
  read_profile_eku(r, root, p);
  const Value& ku = r.require(root, "key_usage", "key_usage");
  p.key_usage = vocabulary_at(r, ku, "key_usage", is_known_key_usage, "key usage");
  read_profile_key(r, r.expect(r.require(root, "key", "key"), toml::value_t::table, "key"), p);
  check_shared_names(r, root, p);
  if (const Value* sig = r.find(root, "signature")) read_profile_signature(r, *sig, p);
  read_profile_verify(r, root, p);
  if (const Value* records = r.find(root, "dns")) read_profile_dns(r, *records, p);
  return p;
}

}  // namespace poolcert
