// The one file that knows TOML: reads specs and profiles into the structs of spec.hpp and turns
// every mistake into a SpecError that names file, line:column and the dotted field.
#include "poolcert/spec_toml.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "poolcert/derive.hpp"
#include "poolcert/dns_name.hpp"
#include "poolcert/dns_records.hpp"
#include "poolcert/error.hpp"
#include "poolcert/x509_vocab.hpp"

namespace poolcert {
namespace fs = std::filesystem;
namespace {

// Ordered tables, so that "the first unknown key" is the same on every run.
using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

constexpr std::uintmax_t kMaxFileBytes = 1 << 20;  // a spec of 1 MiB is a mistake, not a pool

// Reader reads one TOML file and reports mistakes in it with their place.
class Reader {
 public:
  explicit Reader(fs::path file) : file_(std::move(file)) {}

  // Parses the file; the returned root must outlive the Reader's use of it.
  Value parse() const;
  void set_root(const Value* root) { root_ = root; }
  const fs::path& file() const { return file_; }

  [[noreturn]] void fail(const Value& at, const std::string& field, const std::string& msg) const {
    toml::source_location loc = at.location();
    // The root table's place is 1:1, which would point at an unrelated line: give none.
    bool known = &at != root_ && loc.file_name() == file_.string();
    throw SpecError(file_, known ? loc.line() : 0, known ? loc.column() : 0, field, msg);
  }

  // Fails on the first key of `table` not in `known`: a typo must not silently drop a name.
  void reject_unknown(const Value& table, const std::string& prefix,
                      std::initializer_list<const char*> known) const {
    for (const auto& [key, value] : table.as_table()) {
      bool ok = std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; });
      if (!ok) {
        std::string allowed;
        for (const char* k : known)
          allowed += (allowed.empty() ? "" : ", ") + std::string(k);
        fail(value, prefix + key, "unknown key (allowed here: " + allowed + ")");
      }
    }
  }

  const Value* find(const Value& table, const char* key) const {
    const auto& t = table.as_table();
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
  }

  const Value& require(const Value& table, const char* key, const std::string& field) const {
    const Value* v = find(table, key);
    if (v == nullptr)
      fail(table, field, "missing (required)");
    return *v;
  }

  const Value& expect(const Value& v, toml::value_t type, const std::string& field) const {
    if (v.type() != type) {
      std::ostringstream msg;
      msg << "expected " << type << ", found " << v.type();
      fail(v, field, msg.str());
    }
    return v;
  }

  std::string string_at(const Value& v, const std::string& field) const {
    return expect(v, toml::value_t::string, field).as_string().str;
  }

  std::vector<std::string> strings_at(const Value& v, const std::string& field) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; const Value& item : expect(v, toml::value_t::array, field).as_array()) {
      out.push_back(string_at(item, field + "[" + std::to_string(i++) + "]"));
    }
    return out;
  }

  // Validates a DNS name in the spec and returns it normalised. `wildcard_rule` says why a
  // wildcard is refused here when `allow_wildcard` is false.
  std::string dns_name_at(const Value& v, const std::string& field, bool allow_wildcard,
                          const std::string& wildcard_rule) const {
    std::string raw = string_at(v, field);
    NameCheck check = check_dns_name(raw, allow_wildcard);
    if (!check.ok()) {
      if (!allow_wildcard && raw.find('*') != std::string::npos) {
        fail(v, field, "'" + raw + "': wildcard not allowed (" + wildcard_rule + ")");
      }
      fail(v, field, "'" + raw + "' is not a valid DNS name: " + check.reason);
    }
    return check.name;
  }

 private:
  fs::path file_;
  const Value* root_ = nullptr;
};

// Turns toml11's multi-line syntax message into one line and the caret's place.
[[noreturn]] void throw_syntax_error(const fs::path& file, const toml::exception& e) {
  std::string what = e.what();
  unsigned line = e.location().line();
  unsigned column = e.location().column();
  std::smatch m;
  // toml11 prints " 3 | fqdn = a.b" then "   |        ^--- here": the caret is the column.
  static const std::regex kSource(R"(\n *(\d+) \| [^\n]*\n( *)\|( *)\^)");
  if (std::regex_search(what, m, kSource)) {
    line = static_cast<unsigned>(std::stoul(m[1].str()));
    column = static_cast<unsigned>(m[3].length());  // "| " then caret: spaces less one, +1
  }
  std::string first = what.substr(0, what.find('\n'));
  if (first.rfind("[error] ", 0) == 0)
    first.erase(0, 8);
  throw SpecError(file, line, column, "", "TOML syntax error: " + first);
}

Value Reader::parse() const {
  std::error_code ec;
  fs::file_status st = fs::status(file_, ec);
  if (ec)
    throw IoError(ErrorKind::kBadInput, file_, "read", ec.value());
  if (fs::is_directory(st))
    throw IoError(ErrorKind::kBadInput, file_, "read", EISDIR);
  std::ifstream in(file_, std::ios::binary);
  if (!in)
    throw IoError(ErrorKind::kBadInput, file_, "read", errno ? errno : EIO);
  std::string text;
  text.resize(kMaxFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    throw IoError(ErrorKind::kBadInput, file_, "read", errno ? errno : EIO);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes)
    throw SpecError(file_, 0, 0, "", "file is larger than 1 MiB");
  std::istringstream stream(text);
  try {
    return toml::parse<toml::discard_comments, std::map, std::vector>(stream, file_.string());
  } catch (const toml::exception& e) {
    throw_syntax_error(file_, e);
  } catch (const std::exception& e) {  // toml11 reports some malformed input as runtime_error
    throw SpecError(file_, 0, 0, "", std::string("TOML syntax error: ") + e.what());
  }
}

std::string ipv4_at(const Reader& r, const Value& v, const std::string& field) {
  std::string text = r.string_at(v, field);
  in_addr addr{};
  if (::inet_pton(AF_INET, text.c_str(), &addr) != 1) {
    r.fail(v, field, "'" + text + "' is not an IPv4 address (dotted quad)");
  }
  return text;
}

int int_at(const Reader& r, const Value& v, const std::string& field, std::int64_t low,
           std::int64_t high) {
  std::int64_t n = r.expect(v, toml::value_t::integer, field).as_integer();
  if (n < low || n > high) {
    r.fail(v, field,
           std::to_string(n) + " is out of range (" + std::to_string(low) + " to " +
               std::to_string(high) + ")");
  }
  return static_cast<int>(n);
}

// --- keys --------------------------------------------------------------------------------------

KeyType key_type_at(const Reader& r, const Value& v, const std::string& field) {
  std::string s = r.string_at(v, field);
  if (s == "rsa")
    return KeyType::kRsa;
  if (s == "ecdsa")
    return KeyType::kEcdsa;
  r.fail(v, field, "'" + s + "' is not a key type (rsa or ecdsa)");
}

int rsa_bits_at(const Reader& r, const Value& v, const std::string& field) {
  std::int64_t bits = r.expect(v, toml::value_t::integer, field).as_integer();
  if (bits < 2048) {
    r.fail(v, field, "RSA " + std::to_string(bits) + " is too weak: at least 2048 bits");
  }
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    r.fail(v, field,
           std::to_string(bits) + " is not an RSA size poolcert makes (2048, 3072, 4096)");
  }
  return static_cast<int>(bits);
}

std::string curve_at(const Reader& r, const Value& v, const std::string& field) {
  std::string c = r.string_at(v, field);
  if (c != "P-256" && c != "P-384")
    r.fail(v, field, "'" + c + "' is not a curve (P-256, P-384)");
  return c;
}

// Reads a [key] table over `base` (fields not given keep the base's, except that a change of
// type resets the size to that type's default).
KeySpec key_at(const Reader& r, const Value& table, const std::string& prefix, KeySpec base) {
  r.expect(table, toml::value_t::table, prefix.substr(0, prefix.size() - 1));
  r.reject_unknown(table, prefix, {"type", "bits", "curve", "encrypt"});
  KeySpec key = base;
  if (const Value* t = r.find(table, "type")) {
    key.type = key_type_at(r, *t, prefix + "type");
    if (key.type != base.type) {
      key.bits = key.type == KeyType::kRsa ? 2048 : 256;
      key.curve = key.type == KeyType::kRsa ? "" : "P-256";
    }
  }
  const Value* bits = r.find(table, "bits");
  const Value* curve = r.find(table, "curve");
  if (key.type == KeyType::kRsa) {
    if (curve != nullptr)
      r.fail(*curve, prefix + "curve", "an RSA key has no curve (use bits)");
    if (bits != nullptr)
      key.bits = rsa_bits_at(r, *bits, prefix + "bits");
  } else {
    if (bits != nullptr)
      r.fail(*bits, prefix + "bits", "an ECDSA key's size is its curve");
    if (curve != nullptr)
      key.curve = curve_at(r, *curve, prefix + "curve");
    key.bits = key.curve == "P-384" ? 384 : 256;
  }
  if (const Value* e = r.find(table, "encrypt")) {
    key.encrypt = r.expect(*e, toml::value_t::boolean, prefix + "encrypt").as_boolean();
  }
  return key;
}

// --- profiles ----------------------------------------------------------------------------------

std::vector<std::string> vocabulary_at(const Reader& r, const Value& v, const std::string& field,
                                       bool (*known)(const std::string&), const char* what) {
  std::vector<std::string> names = r.strings_at(v, field);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!known(names[i])) {
      r.fail(v.as_array()[i], field + "[" + std::to_string(i) + "]",
             "'" + names[i] + "' is not a known " + what);
    }
  }
  return names;
}

std::string pattern_at(const Reader& r, const Value& v, const std::string& field) {
  std::string p = r.string_at(v, field);
  if (std::string why = pattern_problem(p); !why.empty())
    r.fail(v, field, why);
  return p;
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
    rule.address = pattern_at(r, r.require(v, "address", field + ".address"), field + ".address");
  } else if (rule.type == "CNAME" || rule.type == "SRV") {
    rule.target = pattern_at(r, r.require(v, "target", field + ".target"), field + ".target");
  } else {
    r.fail(type, field + ".type",
           "'" + rule.type + "' is not a record type poolcert makes (A, CNAME, SRV)");
  }
  if (rule.type == "SRV") {
    const Value& port = r.require(v, "port", field + ".port");
    rule.port = port.is_integer() ? std::to_string(int_at(r, port, field + ".port", 1, 65535))
                                  : pattern_at(r, port, field + ".port");
    if (const Value* p = r.find(v, "priority"))
      rule.priority = int_at(r, *p, field + ".priority", 0, 65535);
    if (const Value* w = r.find(v, "weight"))
      rule.weight = int_at(r, *w, field + ".weight", 0, 65535);
  }
  if (const Value* w = r.find(v, "when")) {
    rule.when = r.string_at(*w, field + ".when");
    const auto& known = known_placeholders();
    if (std::find(known.begin(), known.end(), rule.when) == known.end()) {
      r.fail(*w, field + ".when", "'" + rule.when + "' is not a placeholder name");
    }
  }
  if (const Value* why = r.find(v, "why"))
    rule.why = r.string_at(*why, field + ".why");
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
  r.reject_unknown(key, "key.", {"allowed", "default"});
  const Value& allowed =
      r.expect(r.require(key, "allowed", "key.allowed"), toml::value_t::array, "key.allowed");
  for (std::size_t i = 0; const Value& rule : allowed.as_array()) {
    p.allowed_keys.push_back(key_rule_at(r, rule, "key.allowed[" + std::to_string(i++) + "]"));
  }
  if (p.allowed_keys.empty())
    r.fail(allowed, "key.allowed", "a profile must allow some key");
  const Value& def = r.require(key, "default", "key.default");
  p.default_key = key_at(r, def, "key.default.", KeySpec{});
  if (!profile_allows_key(p, p.default_key)) {
    r.fail(def, "key.default", describe_key(p.default_key) + " is not among key.allowed");
  }
}

// --- specs -------------------------------------------------------------------------------------

void read_subject(const Reader& r, const Value& table, PoolSpec& spec) {
  r.expect(table, toml::value_t::table, "subject");
  r.reject_unknown(table, "subject.", {"C", "ST", "L", "O", "OU"});
  for (const char* attr : {"C", "ST", "L", "O", "OU"}) {  // the order of openssl req and certreq
    const Value* v = r.find(table, attr);
    if (v == nullptr)
      continue;
    std::string field = std::string("subject.") + attr;
    std::string value = r.string_at(*v, field);
    if (std::string why = subject_value_problem(attr, value); !why.empty()) {
      r.fail(*v, field, why);
    }
    spec.subject.emplace_back(attr, value);
  }
}

void read_pool(const Reader& r, const Value& pool, PoolSpec& spec) {
  r.expect(pool, toml::value_t::table, "pool");
  r.reject_unknown(pool, "pool.", {"fqdn", "sip_domains", "vip", "web_fqdn", "web_vip"});
  if (const Value* v = r.find(pool, "vip"))
    spec.vip = ipv4_at(r, *v, "pool.vip");
  if (const Value* v = r.find(pool, "web_vip"))
    spec.web_vip = ipv4_at(r, *v, "pool.web_vip");
  if (const Value* v = r.find(pool, "web_fqdn")) {
    spec.web_fqdn = r.dns_name_at(*v, "pool.web_fqdn", false, "the web farm FQDN names one host");
  }
  spec.pool_fqdn = r.dns_name_at(r.require(pool, "fqdn", "pool.fqdn"), "pool.fqdn", false,
                                 "the pool FQDN names one host; DOMAIN.md: never in the CN");
  const Value& domains = r.expect(r.require(pool, "sip_domains", "pool.sip_domains"),
                                  toml::value_t::array, "pool.sip_domains");
  if (domains.as_array().empty())
    r.fail(domains, "pool.sip_domains", "empty: list at least one");
  for (std::size_t i = 0; i < domains.as_array().size(); ++i) {
    const Value& d = domains.as_array()[i];
    std::string field = "pool.sip_domains[" + std::to_string(i) + "]";
    std::string name = r.dns_name_at(d, field, false, "a SIP domain is a domain, not a pattern");
    if (std::find(spec.sip_domains.begin(), spec.sip_domains.end(), name) !=
        spec.sip_domains.end()) {
      r.fail(d, field, "SIP domain '" + name + "' is listed twice");
    }
    spec.sip_domains.push_back(name);
  }
}

// Refuses a key the profile does not allow, pointing at the value that makes it so: the type when
// the profile allows no key of that type, else the size or curve; the table when neither is given.
void read_dns(const Reader& r, const Value& dns, PoolSpec& spec) {
  r.expect(dns, toml::value_t::table, "dns");
  r.reject_unknown(dns, "dns.", {"sign_in_port", "ttl", "sip_internal_tcp"});
  if (const Value* v = r.find(dns, "sign_in_port")) {
    spec.dns.sign_in_port = int_at(r, *v, "dns.sign_in_port", 1, 65535);
  }
  if (const Value* v = r.find(dns, "ttl"))
    spec.dns.ttl = int_at(r, *v, "dns.ttl", 0, 2147483647);
  if (const Value* v = r.find(dns, "sip_internal_tcp")) {
    spec.dns.sip_internal_tcp =
        r.expect(*v, toml::value_t::boolean, "dns.sip_internal_tcp").as_boolean();
  }
}

void check_key_allowed(const Reader& r, const Value& table, const std::string& prefix,
                       const PoolSpec& spec, const KeySpec& key) {
  if (profile_allows_key(spec.profile, key))
    return;
  const auto& rules = spec.profile.allowed_keys;
  bool type_allowed = std::any_of(rules.begin(), rules.end(),
                                  [&](const KeyRule& rule) { return rule.type == key.type; });
  const char* member = !type_allowed ? "type" : key.type == KeyType::kRsa ? "bits" : "curve";
  const Value* at = r.find(table, member);
  if (at == nullptr)
    at = r.find(table, member = "type");
  std::string field = at != nullptr ? prefix + "." + member : prefix;
  r.fail(at != nullptr ? *at : table, field,
         describe_key(key) + " is not allowed by profile " + spec.profile.name +
             " (allowed: " + describe_allowed_keys(spec.profile) + ")");
}

void read_server(const Reader& r, const Value& v, std::size_t index, PoolSpec& spec) {
  std::string prefix = "server[" + std::to_string(index) + "].";
  r.expect(v, toml::value_t::table, "server[" + std::to_string(index) + "]");
  r.reject_unknown(v, prefix, {"fqdn", "extra_sans", "key"});
  ServerSpec server;
  const Value& fqdn = r.require(v, "fqdn", prefix + "fqdn");
  server.fqdn = r.dns_name_at(fqdn, prefix + "fqdn", false, "a server FQDN names one host");
  server.place = {fqdn.location().line(), fqdn.location().column()};
  for (const ServerSpec& other : spec.servers) {
    if (other.fqdn == server.fqdn) {
      r.fail(fqdn, prefix + "fqdn",
             "server '" + server.fqdn + "' is listed twice (first at line " +
                 std::to_string(other.place.line) + ")");
    }
  }
  if (const Value* extras = r.find(v, "extra_sans")) {
    r.expect(*extras, toml::value_t::array, prefix + "extra_sans");
    for (std::size_t i = 0; i < extras->as_array().size(); ++i) {
      server.extra_sans.push_back(r.dns_name_at(
          extras->as_array()[i], prefix + "extra_sans[" + std::to_string(i) + "]",
          spec.profile.allow_wildcards, "profile " + spec.profile.name + " forbids wildcards"));
    }
  }
  server.key = spec.key;
  if (const Value* key = r.find(v, "key")) {
    server.key = key_at(r, *key, prefix + "key.", spec.key);
    check_key_allowed(r, *key, prefix + "key", spec, server.key);
  }
  try {
    derive_plan(spec, server);  // the profile's patterns must give valid names for this server
  } catch (const std::invalid_argument& e) {
    r.fail(fqdn, prefix + "fqdn", std::string("cannot derive the certificate: ") + e.what());
  }
  spec.servers.push_back(std::move(server));
}

void load_spec_profile(const Reader& r, const Value& root, const ProfileSearch& search,
                       PoolSpec& spec) {
  const Value& ref = r.require(root, "profile", "profile");
  std::string name = r.string_at(ref, "profile");
  fs::path file = resolve_profile(name, r.file(), search);
  if (file.empty()) {
    std::vector<fs::path> dirs = {(r.file().parent_path() / "profiles").lexically_normal()};
    for (const fs::path& d : search.dirs) {
      if (std::find(dirs.begin(), dirs.end(), d) == dirs.end())
        dirs.push_back(d);
    }
    std::string where;
    for (const fs::path& d : dirs)
      where += (where.empty() ? "" : ", ") + d.string();
    r.fail(ref, "profile", "unknown profile '" + name + "' (looked in " + where + ")");
  }
  try {
    spec.profile = load_profile(file);
  } catch (const SpecError& e) {  // the spec's own line first, then the profile's mistake
    r.fail(ref, "profile", "profile '" + name + "' is invalid: " + e.what());
  }
}

}  // namespace

ProfileSearch default_profile_search() {
  ProfileSearch search;
  if (const char* env = std::getenv("POOLCERT_PROFILE_PATH"); env != nullptr) {
    std::stringstream ss(env);
    for (std::string dir; std::getline(ss, dir, ':');) {
      if (!dir.empty())
        search.dirs.emplace_back(dir);
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
  static const std::regex kName("[a-z0-9][a-z0-9._-]*");
  if (!std::regex_match(ref, kName))
    return {};
  std::vector<fs::path> dirs = {base / "profiles"};
  dirs.insert(dirs.end(), search.dirs.begin(), search.dirs.end());
  for (const fs::path& dir : dirs) {
    fs::path p = dir / (ref + ".toml");
    if (fs::is_regular_file(p, ec))
      return p.lexically_normal();
  }
  return {};
}

Profile load_profile(const fs::path& file) {
  Reader r(file);
  Value root = r.parse();
  r.set_root(&root);
  r.reject_unknown(
      root, "",
      {"description", "source", "subject", "san", "eku", "key_usage", "key", "signature", "dns"});
  Profile p;
  p.file = file;
  p.name = file.stem().string();
  if (const Value* d = r.find(root, "description"))
    p.description = r.string_at(*d, "description");
  if (const Value* s = r.find(root, "source"))
    r.string_at(*s, "source");

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
        r.fail(*d, "signature.digest", "'" + p.digest + "' is not sha256, sha384 or sha512");
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
  if (const Value* records = r.find(root, "dns"))
    read_profile_dns(r, *records, p);
  return p;
}

PoolSpec load_spec(const fs::path& file, const ProfileSearch& search) {
  Reader r(file);
  Value root = r.parse();
  r.set_root(&root);
  r.reject_unknown(root, "", {"profile", "output_dir", "pool", "dns", "key", "subject", "server"});
  PoolSpec spec;
  spec.file = file;
  load_spec_profile(r, root, search, spec);

  spec.output_dir = file.parent_path();
  if (const Value* out = r.find(root, "output_dir")) {
    std::string dir = r.string_at(*out, "output_dir");
    if (dir.empty())
      r.fail(*out, "output_dir", "empty path");
    spec.output_dir = fs::path(dir).is_absolute() ? fs::path(dir) : file.parent_path() / dir;
  }
  spec.output_dir = spec.output_dir.empty() ? fs::path(".") : spec.output_dir.lexically_normal();

  read_pool(r, r.require(root, "pool", "pool"), spec);
  if (const Value* settings = r.find(root, "dns"))
    read_dns(r, *settings, spec);
  spec.key = spec.profile.default_key;
  if (const Value* key = r.find(root, "key")) {
    spec.key = key_at(r, *key, "key.", spec.key);
    check_key_allowed(r, *key, "key", spec, spec.key);
  }
  if (const Value* subject = r.find(root, "subject"))
    read_subject(r, *subject, spec);

  const Value* servers = r.find(root, "server");
  if (servers == nullptr)
    r.fail(root, "server", "no [[server]]: list at least one server");
  r.expect(*servers, toml::value_t::array, "server");
  if (servers->as_array().empty())
    r.fail(*servers, "server", "empty: list at least one server");
  for (std::size_t i = 0; i < servers->as_array().size(); ++i) {
    read_server(r, servers->as_array()[i], i, spec);
  }
  try {
    derive_dns_records(spec);  // the profile's record rules must give valid names for this pool
  } catch (const std::invalid_argument& e) {
    r.fail(r.require(root, "pool", "pool"), "pool",
           std::string("cannot derive the DNS records: ") + e.what());
  }
  return spec;
}

}  // namespace poolcert
