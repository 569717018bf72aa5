// Pool specs: one TOML file read into PoolSpec, validated against its profiles, every mistake a
// SpecError that names file, line:column and the dotted field. The rules across tables are in
// spec_checks.cpp.
#include "poolcert/toml/spec_toml.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "poolcert/dns/dns_records.hpp"
#include "poolcert/model/derive.hpp"
#include "poolcert/x509/x509_vocab.hpp"
#include "toml/spec_toml_internal.hpp"
#include "toml/toml_reader.hpp"

namespace poolcert {
namespace fs = std::filesystem;
using namespace toml_layer;
namespace {

void read_subject(const Reader& r, const Value& table, PoolSpec& spec) {
  r.expect(table, toml::value_t::table, "subject");
  r.reject_unknown(table, "subject.", {"C", "ST", "L", "O", "OU"});
  for (const char* attr : {"C", "ST", "L", "O", "OU"}) {  // the order of openssl req and certreq
    const Value* v = r.find(table, attr);
    if (v == nullptr) continue;
    std::string field = std::string("subject.") + attr;
    std::string value = r.string_at(*v, field);
    if (std::string why = subject_value_problem(attr, value); !why.empty()) {
      r.fail(*v, field, why);
    }
    spec.subject.emplace_back(attr, value);
  }
}

// A list of host names, each once.
std::vector<std::string> names_at(const Reader& r, const Value& v, const std::string& field,
                                  const std::string& rule) {
  r.expect(v, toml::value_t::array, field);
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    const Value& item = v.as_array()[i];
    std::string item_field = field + "[" + std::to_string(i) + "]";
    std::string name = r.dns_name_at(item, item_field, false, rule);
    if (!seen.insert(name).second) r.fail(item, item_field, quote_value(name) + " is listed twice");
    out.push_back(std::move(name));
  }
  return out;
}

void read_pool_switches(const Reader& r, const Value& pool, PoolSpec& spec) {
  for (auto [key, target] :
       {std::pair{"auto_logon", &spec.auto_logon}, std::pair{"public_im", &spec.public_im},
        std::pair{"dns_load_balancing", &spec.dns_load_balancing}}) {
    if (const Value* v = r.find(pool, key)) *target = bool_at(r, *v, std::string("pool.") + key);
  }
  // mobility: resolve_mobility, once the products are known
}

void read_pool(const Reader& r, const Value& pool, PoolSpec& spec) {
  r.expect(pool, toml::value_t::table, "pool");
  r.reject_unknown(pool, "pool.",
                   {"fqdn", "sip_domains", "vip", "web_fqdn", "web_vip", "web_external_fqdn",
                    "published_web_fqdns", "webconf_fqdn", "access_fqdn", "av_fqdn", "external_vip",
                    "webconf_vip", "av_vip", "xmpp_domains", "auto_logon", "mobility", "public_im",
                    "dns_load_balancing"});
  for (auto [key, target] :
       {std::pair{"vip", &spec.vip}, std::pair{"web_vip", &spec.web_vip},
        std::pair{"external_vip", &spec.external_vip}, std::pair{"webconf_vip", &spec.webconf_vip},
        std::pair{"av_vip", &spec.av_vip}}) {
    if (const Value* v = r.find(pool, key)) *target = ipv4_at(r, *v, std::string("pool.") + key);
  }
  const char* one_host = "names one host";
  for (auto [key, target] :
       {std::pair{"web_fqdn", &spec.web_fqdn},
        std::pair{"web_external_fqdn", &spec.web_external_fqdn},
        std::pair{"webconf_fqdn", &spec.webconf_fqdn}, std::pair{"access_fqdn", &spec.access_fqdn},
        std::pair{"av_fqdn", &spec.av_fqdn}}) {
    if (const Value* v = r.find(pool, key)) {
      *target = r.dns_name_at(*v, std::string("pool.") + key, false, one_host);
    }
  }
  if (const Value* v = r.find(pool, "published_web_fqdns")) {
    spec.published_web_fqdns = names_at(r, *v, "pool.published_web_fqdns", one_host);
  }
  spec.pool_fqdn = r.dns_name_at(r.require(pool, "fqdn", "pool.fqdn"), "pool.fqdn", false,
                                 "the pool FQDN names one host; DOMAIN.md: never in the CN");
  const Value& domains = r.require(pool, "sip_domains", "pool.sip_domains");
  spec.sip_domains =
      names_at(r, domains, "pool.sip_domains", "a SIP domain is a domain, not a pattern");
  if (spec.sip_domains.empty()) r.fail(domains, "pool.sip_domains", "empty: list at least one");
  if (const Value* v = r.find(pool, "xmpp_domains")) {
    spec.xmpp_domains = names_at(r, *v, "pool.xmpp_domains", "an XMPP domain is a domain");
    if (spec.xmpp_domains.empty()) r.fail(*v, "pool.xmpp_domains", "empty: leave it out instead");
  }
  read_pool_switches(r, pool, spec);
}

void read_simple_urls(const Reader& r, const Value& table, PoolSpec& spec) {
  r.expect(table, toml::value_t::table, "simple_urls");
  r.reject_unknown(table, "simple_urls.", {"meet", "dialin", "admin", "wildcard"});
  const char* rule = "a simple URL host names one host; use simple_urls.wildcard for a wildcard";
  if (const Value* meet = r.find(table, "meet")) {
    spec.simple_urls.meet = names_at(r, *meet, "simple_urls.meet", rule);
  }
  if (const Value* v = r.find(table, "dialin")) {
    spec.simple_urls.dialin = r.dns_name_at(*v, "simple_urls.dialin", false, rule);
  }
  if (const Value* v = r.find(table, "admin")) {
    spec.simple_urls.admin = r.dns_name_at(*v, "simple_urls.admin", false, rule);
  }
  if (const Value* v = r.find(table, "wildcard")) {
    std::string name = r.dns_name_at(*v, "simple_urls.wildcard", true, "");
    if (name.rfind("*.", 0) != 0) {
      r.fail(*v, "simple_urls.wildcard",
             quote_value(name) + " is not a wildcard: write it as *.<domain>, e.g. *.contoso.com");
    }
    spec.simple_urls.wildcard = name;
  }
}

void read_dns(const Reader& r, const Value& dns, PoolSpec& spec) {
  r.expect(dns, toml::value_t::table, "dns");
  r.reject_unknown(dns, "dns.",
                   {"sign_in_port", "ttl", "sip_internal_tcp", "sipinternal", "sipexternal",
                    "lyncdiscover_cname"});
  if (const Value* v = r.find(dns, "sign_in_port")) {
    spec.dns.sign_in_port = int_at(r, *v, "dns.sign_in_port", 1, 65535);
  }
  if (const Value* v = r.find(dns, "ttl")) spec.dns.ttl = int_at(r, *v, "dns.ttl", 0, 2147483647);
  for (auto [key, target] : {std::pair{"sip_internal_tcp", &spec.dns.sip_internal_tcp},
                             std::pair{"sipinternal", &spec.dns.sipinternal},
                             std::pair{"sipexternal", &spec.dns.sipexternal},
                             std::pair{"lyncdiscover_cname", &spec.dns.lyncdiscover_cname}}) {
    if (const Value* v = r.find(dns, key)) *target = bool_at(r, *v, std::string("dns.") + key);
  }
}

// Refuses a key `profile` does not allow, pointing at the value that makes it so: the type when
// the profile allows no key of that type, else the size or curve; the table when neither is given.
void check_key_allowed_by(const Reader& r, const Value& table, const std::string& prefix,
                          const PoolSpec& spec, const Profile& profile, const KeySpec& key) {
  if (profile_allows_key(profile, key)) return;
  const auto& rules = profile.allowed_keys;
  bool type_allowed = std::any_of(rules.begin(), rules.end(),
                                  [&](const KeyRule& rule) { return rule.type == key.type; });
  const char* member = !type_allowed ? "type" : key.type == KeyType::kRsa ? "bits" : "curve";
  const Value* at = r.find(table, member);
  if (at == nullptr) at = r.find(table, member = "type");
  std::string field = at != nullptr ? prefix + "." + member : prefix;
  std::string products;
  for (const std::string& p : spec.rule_products) products += (products.empty() ? "" : ", ") + p;
  r.fail(at != nullptr ? *at : table, field,
         describe_key(key) + " is not allowed by profile " + profile.name +
             (products.empty() ? "" : " for " + products) +
             " (allowed: " + describe_allowed_keys(profile) + ")");
}

// Refuses a key that any of the spec's certificate profiles does not allow.
void check_key_allowed(const Reader& r, const Value& table, const std::string& prefix,
                       const PoolSpec& spec, const KeySpec& key, bool shared_too) {
  for (const CertificateSpec& cert : spec.certificates) {
    if (cert.profile.shared && !shared_too) continue;  // a shared key is the pool's [key]
    check_key_allowed_by(r, table, prefix, spec, cert.profile, key);
  }
}

// Host names that may include a wildcard (checked against the profile afterwards).
std::vector<std::string> extra_names_at(const Reader& r, const Value& v, const std::string& field) {
  r.expect(v, toml::value_t::array, field);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    out.push_back(r.dns_name_at(v.as_array()[i], field + "[" + std::to_string(i) + "]", true, ""));
  }
  return out;
}

// [[server]] certificate_sans = { <certificate> = [names] }.
void read_certificate_sans(const Reader& r, const Value& table, const std::string& prefix,
                           const PoolSpec& spec, ServerSpec& server) {
  r.expect(table, toml::value_t::table, prefix);
  for (const auto& entry : table.as_table()) {
    const std::string& name = entry.first;  // clang 14 cannot capture a structured binding
    const Value& list = entry.second;
    std::string field = prefix + "." + name;
    auto cert = std::find_if(spec.certificates.begin(), spec.certificates.end(),
                             [&](const CertificateSpec& c) { return c.name == name; });
    if (cert == spec.certificates.end() || name.empty()) {
      std::string names;
      for (const CertificateSpec& c : spec.certificates)
        names += (names.empty() ? "" : ", ") + c.name;
      r.fail(list, field,
             quote_value(name) + " is not a certificate of the spec (" +
                 (names.empty() ? "it lists no [[certificate]]: use extra_sans" : names) + ")");
    }
    if (cert->profile.shared) {
      r.fail(list, field,
             "certificate " + name + " is shared by the pool (profile " + cert->profile.name +
                 "): give its names in [[certificate]] extra_sans, the same for every member");
    }
    server.certificate_sans.emplace_back(name, extra_names_at(r, list, field));
  }
}

void check_wildcards_allowed(const Reader& r, const Value& list, const std::string& field,
                             const std::vector<std::string>& names, const Profile& profile) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].rfind("*.", 0) == 0 && !profile.allow_wildcards) {
      r.fail(list.as_array()[i], field + "[" + std::to_string(i) + "]",
             quote_value(names[i]) + ": profile " + profile.name +
                 " takes no wildcard (DOMAIN.md Wildcards: only web and reverse-proxy "
                 "certificates, for the simple URLs)");
    }
  }
}

void read_server_names(const Reader& r, const Value& v, const std::string& prefix,
                       const PoolSpec& spec, ServerSpec& server) {
  if (const Value* extras = r.find(v, "extra_sans")) {
    server.extra_sans = extra_names_at(r, *extras, prefix + "extra_sans");
    // DOMAIN.md: a server's extra names went onto every one of its certificates; with several
    // certificates, they go where the spec says (certificate_sans).
    if (spec.certificates.size() > 1 && !server.extra_sans.empty()) {
      r.fail(*extras, prefix + "extra_sans",
             "the spec has several certificates: say which one gets these names, e.g. "
             "certificate_sans = { " +
                 spec.certificates.front().name + " = [...] }");
    }
    const CertificateSpec& only = spec.certificates.front();
    if (only.profile.shared && !server.extra_sans.empty()) {
      r.fail(*extras, prefix + "extra_sans",
             "the certificate is shared by the pool (profile " + only.profile.name +
                 "): it cannot have one server's names");
    }
    check_wildcards_allowed(r, *extras, prefix + "extra_sans", server.extra_sans, only.profile);
  }
  if (const Value* sans = r.find(v, "certificate_sans")) {
    read_certificate_sans(r, *sans, prefix + "certificate_sans", spec, server);
    for (const auto& entry : server.certificate_sans) {
      const std::string& name = entry.first;  // clang 14 cannot capture a structured binding
      const std::vector<std::string>& names = entry.second;
      const Value& list = sans->as_table().at(name);
      auto cert = std::find_if(spec.certificates.begin(), spec.certificates.end(),
                               [&](const CertificateSpec& c) { return c.name == name; });
      check_wildcards_allowed(r, list, prefix + "certificate_sans." + name, names, cert->profile);
    }
  }
}

// Reads servers[index] into spec.servers; `first_index` maps each FQDN read so far to its index.
void read_server(const Reader& r, const Value& servers, std::size_t index,
                 std::unordered_map<std::string, std::size_t>& first_index, PoolSpec& spec) {
  const Value& v = servers.as_array()[index];
  std::string prefix = "server[" + std::to_string(index) + "].";
  r.expect(v, toml::value_t::table, "server[" + std::to_string(index) + "]");
  r.reject_unknown(v, prefix,
                   {"fqdn", "address", "external_address", "webconf_address", "av_address",
                    "extra_sans", "certificate_sans", "key"});
  ServerSpec server;
  const Value& fqdn = r.require(v, "fqdn", prefix + "fqdn");
  server.fqdn = r.dns_name_at(fqdn, prefix + "fqdn", false, "a server FQDN names one host");
  if (auto [it, added] = first_index.emplace(server.fqdn, index); !added) {
    // The place is looked up only here: toml11 counts the lines from the top of the file for
    // each location, which for every server of a 2000-server spec was most of its loading time.
    const Value& first = servers.as_array()[it->second].as_table().at("fqdn");
    r.fail(fqdn, prefix + "fqdn",
           "server '" + server.fqdn + "' is listed twice (first at line " +
               std::to_string(first.location().line()) + ")");
  }
  if (const Value* a = r.find(v, "address")) server.address = ipv4_at(r, *a, prefix + "address");
  for (auto [key, target] : {std::pair{"external_address", &server.external_address},
                             std::pair{"webconf_address", &server.webconf_address},
                             std::pair{"av_address", &server.av_address}}) {
    if (const Value* a = r.find(v, key)) *target = ipv4_at(r, *a, prefix + key);
  }
  read_server_names(r, v, prefix, spec, server);
  server.key = spec.key;
  if (const Value* key = r.find(v, "key")) {
    bool own = std::any_of(spec.certificates.begin(), spec.certificates.end(),
                           [](const CertificateSpec& c) { return !c.profile.shared; });
    if (!own) {
      r.fail(*key, prefix + "key",
             "every certificate of this spec is shared by the pool: a server's own key would "
             "apply to none; give the key in [key]");
    }
    server.key = key_at(r, *key, prefix + "key.", spec.key);
    check_key_allowed(r, *key, prefix + "key", spec, server.key, false);
  }
  for (const CertificateSpec& cert : spec.certificates) {
    if (cert.profile.shared) continue;  // the pool's: derived once, check_shared_plans
    try {
      derive_plan(spec, server, cert);  // the profile's patterns must give valid names
    } catch (const std::invalid_argument& e) {
      std::string which = cert.name.empty() ? "" : " " + cert.name;
      r.fail(fqdn, prefix + "fqdn",
             "cannot derive the" + which + " certificate: " + std::string(e.what()));
    }
  }
  spec.servers.push_back(std::move(server));
}

// Loads the profile named by `ref` (a string value of the spec) or fails at that value.
Profile load_referenced_profile(const Reader& r, const Value& ref, const std::string& field,
                                const ProfileSearch& search) {
  std::string name = r.string_at(ref, field);
  fs::path file = resolve_profile(name, r.file(), search);
  if (file.empty()) {
    std::vector<fs::path> dirs = {(r.file().parent_path() / "profiles").lexically_normal()};
    for (const fs::path& d : search.dirs) {
      if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    }
    std::string where;
    for (const fs::path& d : dirs) where += (where.empty() ? "" : ", ") + d.string();
    r.fail(ref, field, "unknown profile " + quote_value(name) + " (looked in " + where + ")");
  }
  try {
    return load_profile(file);
  } catch (const SpecError& e) {  // the spec's own line first, then the profile's mistake
    r.fail(ref, field, "profile " + quote_value(name) + " is invalid: " + e.what());
  }
}

CertificateSpec read_certificate(const Reader& r, const Value& v, const std::string& prefix,
                                 const Value* top, const ProfileSearch& search,
                                 const PoolSpec& spec) {
  r.expect(v, toml::value_t::table, prefix);
  r.reject_unknown(v, prefix + ".", {"name", "profile", "extra_sans"});
  const Value& name = r.require(v, "name", prefix + ".name");
  CertificateSpec cert;
  cert.name = r.string_at(name, prefix + ".name");
  if (!is_certificate_name(cert.name)) {
    r.fail(name, prefix + ".name",
           quote_value(cert.name) + " is not a certificate name (lower-case letters, digits, '-')");
  }
  for (const CertificateSpec& other : spec.certificates) {
    if (other.name == cert.name) r.fail(name, prefix + ".name", quote_value(cert.name) + " twice");
  }
  const Value* ref = r.find(v, "profile");
  if (ref == nullptr && top == nullptr) r.fail(v, prefix + ".profile", "missing (required)");
  cert.profile = ref != nullptr ? load_referenced_profile(r, *ref, prefix + ".profile", search)
                                : load_referenced_profile(r, *top, "profile", search);
  if (const Value* extras = r.find(v, "extra_sans")) {
    cert.extra_sans = extra_names_at(r, *extras, prefix + ".extra_sans");
    check_wildcards_allowed(r, *extras, prefix + ".extra_sans", cert.extra_sans, cert.profile);
  }
  return cert;
}

// The certificates of the spec: its [[certificate]] list, or one unnamed certificate of the
// top-level profile.
void read_certificates(const Reader& r, const Value& root, const ProfileSearch& search,
                       PoolSpec& spec) {
  const Value* top = r.find(root, "profile");
  const Value* list = r.find(root, "certificate");
  if (list == nullptr) {
    const Value& ref = r.require(root, "profile", "profile");
    spec.certificates.push_back({"", load_referenced_profile(r, ref, "profile", search), {}});
    return;
  }
  r.expect(*list, toml::value_t::array, "certificate");
  if (list->as_array().empty()) r.fail(*list, "certificate", "empty: list at least one");
  for (std::size_t i = 0; i < list->as_array().size(); ++i) {
    spec.certificates.push_back(read_certificate(
        r, list->as_array()[i], "certificate[" + std::to_string(i) + "]", top, search, spec));
  }
}

void read_key(const Reader& r, const Value& root, PoolSpec& spec) {
  spec.key = spec.certificates.front().profile.default_key;
  if (const Value* key = r.find(root, "key")) {
    spec.key = key_at(r, *key, "key.", spec.key);
    check_key_allowed(r, *key, "key", spec, spec.key, true);
    return;
  }
  // The first certificate's default key serves every certificate: each profile must allow it.
  std::string products;
  for (const std::string& p : spec.rule_products) products += (products.empty() ? "" : ", ") + p;
  for (const CertificateSpec& cert : spec.certificates) {
    if (profile_allows_key(cert.profile, spec.key)) continue;
    const Value* certificates = r.find(root, "certificate");
    r.fail(certificates != nullptr ? *certificates : root, "key",
           describe_key(spec.key) + ", the default key of profile " +
               spec.certificates.front().profile.name + ", is not allowed by profile " +
               cert.profile.name + (products.empty() ? "" : " for " + products) +
               " (allowed: " + describe_allowed_keys(cert.profile) + "): give the key in [key]");
  }
}

// A shared certificate is the pool's: derived once, and a name it cannot derive is the pool's
// mistake, said at the certificate's profile.
void check_shared_plans(const Reader& r, const Value& root, const PoolSpec& spec) {
  for (std::size_t i = 0; i < spec.certificates.size(); ++i) {
    const CertificateSpec& cert = spec.certificates[i];
    if (!cert.profile.shared) continue;
    try {
      derive_plan(spec, nullptr, cert);
    } catch (const std::invalid_argument& e) {
      std::string which = cert.name.empty() ? "" : " " + cert.name;
      r.fail(certificate_place(r, root, i), certificate_field(root, i),
             "cannot derive the" + which + " certificate of the pool: " + std::string(e.what()));
    }
  }
}

void read_servers(const Reader& r, const Value& root, PoolSpec& spec) {
  const Value* servers = r.find(root, "server");
  if (servers == nullptr) r.fail(root, "server", "no [[server]]: list at least one server");
  r.expect(*servers, toml::value_t::array, "server");
  if (servers->as_array().empty()) r.fail(*servers, "server", "empty: list at least one server");
  std::unordered_map<std::string, std::size_t> first_index;
  for (std::size_t i = 0; i < servers->as_array().size(); ++i) {
    read_server(r, *servers, i, first_index, spec);
  }
}

}  // namespace

PoolSpec load_spec(const fs::path& file, const ProfileSearch& search) {
  Reader r(file);
  Value root = r.parse();
  r.set_root(&root);
  r.reject_unknown(root, "",
                   {"product", "profile", "certificate", "template", "output_dir", "pool",
                    "simple_urls", "dns", "key", "subject", "server"});
  PoolSpec spec;
  spec.file = file;
  read_certificates(r, root, search, spec);
  apply_product(r, root, spec);
  if (const Value* t = r.find(root, "template")) {
    spec.template_name = r.string_at(*t, "template");
    if (std::string why = template_name_problem(spec.template_name); !why.empty()) {
      r.fail(*t, "template", why);
    }
  }

  spec.output_dir = file.parent_path();
  if (const Value* out = r.find(root, "output_dir")) {
    std::string dir = r.string_at(*out, "output_dir");
    if (dir.empty()) r.fail(*out, "output_dir", "empty path");
    spec.output_dir = fs::path(dir).is_absolute() ? fs::path(dir) : file.parent_path() / dir;
  }
  spec.output_dir = spec.output_dir.empty() ? fs::path(".") : spec.output_dir.lexically_normal();

  read_pool(r, r.require(root, "pool", "pool"), spec);
  resolve_mobility(r, root, spec);
  if (const Value* urls = r.find(root, "simple_urls")) read_simple_urls(r, *urls, spec);
  if (const Value* settings = r.find(root, "dns")) read_dns(r, *settings, spec);
  read_key(r, root, spec);
  if (const Value* subject = r.find(root, "subject")) read_subject(r, *subject, spec);
  read_servers(r, root, spec);
  check_shared_plans(r, root, spec);
  check_spec_rules(r, root, spec);
  try {
    derive_dns_records(spec);  // the profile's record rules must give valid names for this pool
  } catch (const std::invalid_argument& e) {
    r.fail(r.require(root, "pool", "pool"), "pool",
           std::string("cannot derive the DNS records: ") + e.what());
  }
  return spec;
}

}  // namespace poolcert
