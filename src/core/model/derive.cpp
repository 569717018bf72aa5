#include "poolcert/model/derive.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "poolcert/model/dns_name.hpp"

namespace poolcert {
namespace {

struct Piece {
  bool placeholder = false;
  std::string text;
};

// Splits "sip.{sip_domain}" into literal and placeholder pieces; throws on unbalanced braces.
std::vector<Piece> split_pattern(const std::string& pattern) {
  std::vector<Piece> pieces;
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    std::size_t open = pattern.find_first_of("{}", pos);
    if (open == std::string::npos) {
      pieces.push_back({false, pattern.substr(pos)});
      break;
    }
    if (pattern[open] == '}') throw std::invalid_argument("unbalanced '}'");
    if (open > pos) pieces.push_back({false, pattern.substr(pos, open - pos)});
    std::size_t close = pattern.find('}', open);
    if (close == std::string::npos) throw std::invalid_argument("unclosed '{'");
    std::string name = pattern.substr(open + 1, close - open - 1);
    if (name.find('{') != std::string::npos) throw std::invalid_argument("nested '{'");
    pieces.push_back({true, std::move(name)});
    pos = close + 1;
  }
  return pieces;
}

std::string host_label(const std::string& fqdn) {
  return fqdn.substr(0, fqdn.find('.'));
}

std::string parent_domain(const std::string& fqdn) {
  std::size_t dot = fqdn.find('.');
  return dot == std::string::npos ? std::string() : fqdn.substr(dot + 1);
}

// A value that may be absent: no values at all when it is empty.
std::vector<std::string> optional_value(const std::string& value) {
  return value.empty() ? std::vector<std::string>{} : std::vector<std::string>{value};
}

std::vector<std::string> switch_value(bool on) {
  return on ? std::vector<std::string>{"true"} : std::vector<std::string>{};
}

// The pool's name in each SIP domain: the pool FQDN in its own domain, the pin-point name
// <pool host>.<D> in every other (S4: an SRV record points at a host in its own domain).
std::vector<std::string> pool_in_sip_domains(const PoolSpec& spec) {
  std::vector<std::string> out;
  for (const std::string& d : spec.sip_domains) {
    out.push_back(parent_domain(spec.pool_fqdn) == d ? spec.pool_fqdn
                                                     : host_label(spec.pool_fqdn) + "." + d);
  }
  return out;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool is_wildcard(const std::string& name) {
  return name.rfind("*.", 0) == 0;
}

// The names of one plan as they are gathered: in order, each once.
class NameList {
 public:
  void add(const std::string& name, std::string reason, bool wildcard_may_cover = false) {
    // A set, not a search of the list: thousands of SIP domains give tens of thousands of names.
    if (seen_.insert(to_lower_ascii(name)).second) {
      names_.push_back({name, std::move(reason), wildcard_may_cover});
    }
  }
  bool empty() const { return names_.empty(); }
  // The CN first, every wildcard after every FQDN (L10: UC devices fail when a wildcard SAN comes
  // before the FQDN entries), the rest in the order added.
  std::vector<DerivedName> finish(const std::string& cn, const std::string& cn_reason) {
    std::vector<DerivedName> out = {{cn, cn_reason, false}};
    for (DerivedName& d : names_) {
      if (!same_dns_name(d.name, cn) && !is_wildcard(d.name)) out.push_back(std::move(d));
    }
    for (DerivedName& d : names_) {
      if (is_wildcard(d.name)) out.push_back(std::move(d));
    }
    return out;
  }

 private:
  std::vector<DerivedName> names_;
  std::unordered_set<std::string> seen_;  // lower-case
};

// The profile's SAN rules, expanded; names the spec's simple-URL wildcard stands for are left
// out (and listed in `covered`).
void add_profile_names(const PoolSpec& spec, const Profile& profile, const PatternVars& vars,
                       const std::string& wildcard, NameList& names,
                       std::vector<std::string>& covered) {
  for (const NameRule& rule : profile.san_rules) {
    if (!condition_holds(rule.condition, vars)) continue;
    std::vector<std::string> expanded = expand_pattern(rule.pattern, vars);
    bool per_domain = placeholder_family_of(rule.pattern) == "sip_domain";
    bool replaceable = profile.allow_wildcards &&
                       std::find(profile.wildcard_replaces.begin(), profile.wildcard_replaces.end(),
                                 rule.pattern) != profile.wildcard_replaces.end();
    for (std::size_t i = 0; i < expanded.size(); ++i) {
      // A wildcard in a profile's own pattern is the profile author's (S2: *.<D> on the SfB 2015
      // XMPP certificate); elsewhere wildcards come from the spec, where they are checked.
      NameCheck check = check_dns_name(expanded[i], is_wildcard(rule.pattern));
      if (!check.ok()) {
        throw std::invalid_argument("SAN '" + expanded[i] + "' (pattern " + rule.pattern +
                                    "): " + check.reason);
      }
      if (replaceable && !wildcard.empty() && wildcard_covers(wildcard, check.name)) {
        covered.push_back(check.name);
        continue;
      }
      std::string reason = rule.why.empty() ? "pattern " + rule.pattern : rule.why;
      if (per_domain) {
        reason += (rule.why.empty() ? "" : ", pattern " + rule.pattern) + " for SIP domain " +
                  spec.sip_domains[i];
      }
      names.add(check.name, std::move(reason), replaceable);
    }
  }
}

// The EKUs requested and required (the profile's, and those a switch on adds) and the key usage
// (RFC 5480 3: an EC key is not for key or data encipherment, which is RSA key transport).
void set_usages(const Profile& profile, const PatternVars& vars, CertificatePlan& plan) {
  plan.eku = profile.eku_request;
  plan.eku_required = profile.eku_require;
  for (const EkuWhen& extra : profile.eku_when) {
    if (!condition_holds({{extra.when}, {}}, vars)) continue;
    for (const std::string& eku : extra.ekus) {
      for (auto* list : {&plan.eku, &plan.eku_required}) {
        if (std::find(list->begin(), list->end(), eku) == list->end()) list->push_back(eku);
      }
    }
  }
  for (const std::string& usage : profile.key_usage) {
    bool rsa_only = usage == "keyEncipherment" || usage == "dataEncipherment";
    if (plan.key.type == KeyType::kRsa || !rsa_only) plan.key_usage.push_back(usage);
  }
}

// Every SAN of a certificate but the CN, in order: the profile's, the spec's extra names for it,
// then the simple-URL wildcard where the profile takes one.
NameList collect_names(const PoolSpec& spec, const ServerSpec* server,
                       const CertificateSpec& certificate, const PatternVars& vars) {
  const Profile& profile = certificate.profile;
  const std::string& wildcard = profile.allow_wildcards ? spec.simple_urls.wildcard : "";
  NameList names;
  std::vector<std::string> covered;
  add_profile_names(spec, profile, vars, wildcard, names, covered);
  for (const std::string& extra : certificate.extra_sans) {
    names.add(extra, "extra_sans of certificate " + certificate.name);
  }
  if (server != nullptr) {
    for (const std::string& extra : server->extra_sans) {
      names.add(extra, "extra_sans of server " + server->fqdn);
    }
    for (const auto& [name, extras] : server->certificate_sans) {
      if (name != certificate.name) continue;
      for (const std::string& extra : extras) {
        names.add(extra, "certificate_sans." + name + " of server " + server->fqdn);
      }
    }
  }
  if (!wildcard.empty()) {
    names.add(wildcard,
              "[simple_urls] wildcard" +
                  (covered.empty() ? std::string() : ", in place of " + join_names(covered)) +
                  " (S1, L13: a wildcard for the simple URLs)");
  }
  return names;
}

}  // namespace

const std::vector<std::string>& known_placeholders() {
  static const std::vector<std::string> kNames = {
      // the pool and its names
      "pool_fqdn", "pool_host", "pool_domain", "sip_domain", "primary_sip_domain",
      "pool_in_sip_domain", "vip", "web_fqdn", "web_vip", "web_external_fqdn", "published_web_fqdn",
      "webconf_fqdn", "access_fqdn", "av_fqdn", "external_vip", "webconf_vip", "av_vip",
      "xmpp_domain", "meet", "dialin", "admin", "sign_in_port",
      // switches: one value "true" when on
      "auto_logon", "mobility", "public_im", "dns_load_balancing", "sip_internal_tcp",
      "sipinternal", "sipexternal", "lyncdiscover_cname",
      // one server's
      "server_fqdn", "server_host", "server_address", "server_external_address",
      "server_webconf_address", "server_av_address"};
  return kNames;
}

bool is_server_placeholder(const std::string& name) {
  return name.rfind("server_", 0) == 0;
}

std::string placeholder_family(const std::string& name) {
  if (name == "sip_domain" || name == "pool_in_sip_domain") return "sip_domain";
  if (name == "meet" || name == "xmpp_domain" || name == "published_web_fqdn") return name;
  return {};
}

std::vector<std::string> family_members(const std::string& family) {
  if (family == "sip_domain") return {"sip_domain", "pool_in_sip_domain"};
  return {family};
}

std::string placeholder_family_of(const std::string& pattern) {
  std::string family;
  for (const Piece& p : split_pattern(pattern)) {
    if (!p.placeholder) continue;
    std::string f = placeholder_family(p.text);
    if (f.empty()) continue;
    if (!family.empty() && f != family) {
      throw std::invalid_argument(
          "at most one many-valued list per pattern ({sip_domain} and {pool_in_sip_domain}, "
          "{meet}, {xmpp_domain} or {published_web_fqdn})");
    }
    family = f;
  }
  return family;
}

std::string pattern_problem(const std::string& pattern) {
  if (pattern.empty()) return "empty pattern";
  try {
    for (const Piece& p : split_pattern(pattern)) {
      if (!p.placeholder) continue;
      const auto& known = known_placeholders();
      if (std::find(known.begin(), known.end(), p.text) == known.end()) {
        return "unknown placeholder {" + p.text + "}";
      }
    }
    placeholder_family_of(pattern);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

std::vector<std::string> pattern_placeholders(const std::string& pattern) {
  std::vector<std::string> names;
  for (const Piece& p : split_pattern(pattern)) {
    if (p.placeholder) names.push_back(p.text);
  }
  return names;
}

PatternVars pool_vars(const PoolSpec& spec) {
  PatternVars vars;
  vars["pool_fqdn"] = {spec.pool_fqdn};
  vars["pool_host"] = {host_label(spec.pool_fqdn)};
  vars["pool_domain"] = optional_value(parent_domain(spec.pool_fqdn));
  vars["sip_domain"] = spec.sip_domains;
  vars["pool_in_sip_domain"] = pool_in_sip_domains(spec);
  vars["primary_sip_domain"] =
      optional_value(spec.sip_domains.empty() ? "" : spec.sip_domains.front());
  vars["vip"] = optional_value(spec.vip);
  vars["web_fqdn"] = optional_value(spec.web_fqdn);
  vars["web_vip"] = optional_value(spec.web_vip);
  vars["web_external_fqdn"] = optional_value(spec.web_external_fqdn);
  vars["published_web_fqdn"] = spec.published_web_fqdns;
  vars["webconf_fqdn"] = optional_value(spec.webconf_fqdn);
  vars["access_fqdn"] = optional_value(spec.access_fqdn);
  vars["av_fqdn"] = optional_value(spec.av_fqdn);
  vars["external_vip"] = optional_value(spec.external_vip);
  // The web conferencing and A/V Edge may have addresses of their own; else the Access Edge's.
  vars["webconf_vip"] =
      optional_value(spec.webconf_vip.empty() ? spec.external_vip : spec.webconf_vip);
  vars["av_vip"] = optional_value(spec.av_vip.empty() ? spec.external_vip : spec.av_vip);
  vars["xmpp_domain"] = spec.xmpp_domains.empty() ? spec.sip_domains : spec.xmpp_domains;
  vars["meet"] = spec.simple_urls.meet;
  vars["dialin"] = optional_value(spec.simple_urls.dialin);
  vars["admin"] = optional_value(spec.simple_urls.admin);
  vars["sign_in_port"] = {std::to_string(spec.dns.sign_in_port)};
  vars["auto_logon"] = switch_value(spec.auto_logon);
  vars["mobility"] = switch_value(spec.mobility);
  vars["public_im"] = switch_value(spec.public_im);
  vars["dns_load_balancing"] = switch_value(spec.dns_load_balancing);
  vars["sip_internal_tcp"] = switch_value(spec.dns.sip_internal_tcp);
  vars["sipinternal"] = switch_value(spec.dns.sipinternal);
  vars["sipexternal"] = switch_value(spec.dns.sipexternal);
  vars["lyncdiscover_cname"] = switch_value(spec.dns.lyncdiscover_cname);
  return vars;
}

PatternVars pattern_vars(const PoolSpec& spec, const ServerSpec& server) {
  PatternVars vars = pool_vars(spec);
  vars["server_fqdn"] = {server.fqdn};
  vars["server_host"] = {host_label(server.fqdn)};
  vars["server_address"] = optional_value(server.address);
  vars["server_external_address"] = optional_value(server.external_address);
  vars["server_webconf_address"] = optional_value(
      server.webconf_address.empty() ? server.external_address : server.webconf_address);
  vars["server_av_address"] =
      optional_value(server.av_address.empty() ? server.external_address : server.av_address);
  return vars;
}

bool condition_holds(const Condition& condition, const PatternVars& vars) {
  auto on = [&](const std::string& name) {
    auto it = vars.find(name);
    return it != vars.end() && !it->second.empty();
  };
  return std::all_of(condition.when.begin(), condition.when.end(), on) &&
         std::none_of(condition.unless.begin(), condition.unless.end(), on);
}

std::vector<std::string> expand_pattern(const std::string& pattern, const PatternVars& vars) {
  std::vector<Piece> pieces = split_pattern(pattern);
  std::string family = placeholder_family_of(pattern);
  std::size_t rounds = 1;
  for (const Piece& p : pieces) {
    if (!p.placeholder) continue;
    auto it = vars.find(p.text);
    if (it == vars.end()) throw std::invalid_argument("unknown placeholder {" + p.text + "}");
    if (it->second.empty()) return {};  // a value the spec does not give: no name
    if (!placeholder_family(p.text).empty()) {
      rounds = it->second.size();
    } else if (it->second.size() != 1) {
      throw std::invalid_argument("placeholder {" + p.text + "} has several values");
    }
  }
  std::vector<std::string> out;
  out.reserve(rounds);
  for (std::size_t i = 0; i < rounds; ++i) {
    std::string s;
    for (const Piece& p : pieces) {
      if (!p.placeholder) {
        s += p.text;
        continue;
      }
      const std::vector<std::string>& values = vars.at(p.text);
      s += placeholder_family(p.text).empty() ? values.front() : values.at(i);
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool wildcard_covers(const std::string& wildcard, const std::string& name) {
  if (!is_wildcard(wildcard)) return false;
  std::string_view suffix = std::string_view(wildcard).substr(1);  // ".contoso.com"
  if (name.size() <= suffix.size()) return false;
  std::string_view label = std::string_view(name).substr(0, name.size() - suffix.size());
  return same_dns_name(std::string_view(name).substr(label.size()), suffix) &&
         label.find('.') == std::string_view::npos && label.find('*') == std::string_view::npos;
}

std::vector<CertificatePlan> derive_plans(const PoolSpec& spec, const ServerSpec& server) {
  std::vector<CertificatePlan> plans;
  for (const CertificateSpec& cert : spec.certificates)
    plans.push_back(derive_plan(spec, server, cert));
  return plans;
}

CertificatePlan derive_plan(const PoolSpec& spec, const ServerSpec& server,
                            const CertificateSpec& certificate) {
  return derive_plan(spec, certificate.profile.shared ? nullptr : &server, certificate);
}

CertificatePlan derive_plan(const PoolSpec& spec, const ServerSpec* server,
                            const CertificateSpec& certificate) {
  const Profile& profile = certificate.profile;
  // A shared certificate's patterns name no server (profile_toml.cpp refuses them).
  PatternVars vars = server != nullptr ? pattern_vars(spec, *server) : pool_vars(spec);
  CertificatePlan plan;
  plan.server_fqdn = server != nullptr ? server->fqdn : spec.pool_fqdn;
  plan.shared = server == nullptr;
  if (plan.shared) {
    for (const ServerSpec& s : spec.servers) plan.members.push_back(s.fqdn);
  }
  plan.certificate = certificate.name;
  plan.profile = profile.name;
  plan.template_name = effective_template(spec, profile);
  plan.exportable = profile.exportable;
  plan.key = server != nullptr ? server->key : spec.key;
  set_usages(profile, vars, plan);
  plan.digest = profile.digest;

  std::vector<std::string> cn = expand_pattern(profile.cn_pattern, vars);
  if (cn.size() != 1) {
    throw std::invalid_argument("the CN pattern " + profile.cn_pattern +
                                " must give exactly one name (is its spec field given?)");
  }
  NameCheck cn_check = check_dns_name(cn.front(), /*allow_wildcard=*/false);
  if (!cn_check.ok()) {
    throw std::invalid_argument("CN '" + cn.front() + "' (pattern " + profile.cn_pattern +
                                "): " + cn_check.reason);
  }
  plan.common_name = cn_check.name;
  plan.subject = spec.subject;
  plan.subject.emplace_back("CN", plan.common_name);
  for (const std::string& part : {plan.common_name, certificate.name, spec.request_date}) {
    if (!part.empty()) plan.friendly_name += (plan.friendly_name.empty() ? "" : " ") + part;
  }

  NameList names = collect_names(spec, server, certificate, vars);
  // DOMAIN.md: TLS clients ignore the subject when a SAN is present (RFC 6125 6.4.4), so the CN
  // is the first SAN; a certificate Microsoft gives no SAN at all (Edge internal, S2) has none.
  if (!names.empty()) {
    plan.sans =
        names.finish(plan.common_name, "the subject CN (pattern " + profile.cn_pattern + ")");
  }
  return plan;
}

std::set<std::string> placeholders_used(const PoolSpec& spec) {
  std::set<std::string> used;
  auto add_pattern = [&](const std::string& p) {
    for (const std::string& name : pattern_placeholders(p)) used.insert(name);
  };
  auto add_condition = [&](const Condition& c) {
    used.insert(c.when.begin(), c.when.end());
    used.insert(c.unless.begin(), c.unless.end());
  };
  for (const CertificateSpec& cert : spec.certificates) {
    const Profile& p = cert.profile;
    add_pattern(p.cn_pattern);
    for (const NameRule& rule : p.san_rules) {
      add_pattern(rule.pattern);
      add_condition(rule.condition);
    }
    for (const EkuWhen& e : p.eku_when) used.insert(e.when);
    for (const DnsRecordRule& rule : p.dns_records) {
      for (const std::string* f : {&rule.name, &rule.address, &rule.target, &rule.port}) {
        add_pattern(*f);
      }
      add_condition(rule.condition);
    }
  }
  return used;
}

SpecField placeholder_field(const std::string& p) {
  if (p == "meet" || p == "dialin" || p == "admin") return {"simple_urls", p};
  if (p == "xmpp_domain" || p == "published_web_fqdn") return {"pool", p + "s"};
  if (is_server_placeholder(p)) return {"server", p.substr(7)};  // {server_address}: address
  if (p == "sign_in_port" || p == "sip_internal_tcp" || p == "sipinternal" || p == "sipexternal" ||
      p == "lyncdiscover_cname") {
    return {"dns", p};
  }
  return {"pool", p};
}

std::string SpecField::label() const {
  return (table == "server" ? "[[server]] " : "[" + table + "] ") + key;
}

std::vector<std::string> unused_field_warnings(const PoolSpec& spec) {
  std::set<std::string> used = placeholders_used(spec);
  auto any_server = [&](std::string ServerSpec::*member) {
    return std::any_of(spec.servers.begin(), spec.servers.end(),
                       [&](const ServerSpec& s) { return !(s.*member).empty(); });
  };
  const std::pair<const char*, bool> facts[] = {
      // placeholder, given
      {"vip", !spec.vip.empty()},
      {"web_fqdn", !spec.web_fqdn.empty()},
      {"web_vip", !spec.web_vip.empty()},
      {"web_external_fqdn", !spec.web_external_fqdn.empty()},
      {"published_web_fqdn", !spec.published_web_fqdns.empty()},
      {"webconf_fqdn", !spec.webconf_fqdn.empty()},
      {"access_fqdn", !spec.access_fqdn.empty()},
      {"av_fqdn", !spec.av_fqdn.empty()},
      {"external_vip", !spec.external_vip.empty()},
      {"webconf_vip", !spec.webconf_vip.empty()},
      {"av_vip", !spec.av_vip.empty()},
      {"xmpp_domain", !spec.xmpp_domains.empty()},
      {"meet", !spec.simple_urls.meet.empty()},
      {"dialin", !spec.simple_urls.dialin.empty()},
      {"admin", !spec.simple_urls.admin.empty()},
      {"server_address", any_server(&ServerSpec::address)},
      {"server_external_address", any_server(&ServerSpec::external_address)},
      {"server_webconf_address", any_server(&ServerSpec::webconf_address)},
      {"server_av_address", any_server(&ServerSpec::av_address)},
  };
  std::string profiles;
  for (const CertificateSpec& c : spec.certificates) {
    profiles += (profiles.empty() ? "" : ", ") + c.profile.name;
  }
  std::vector<std::string> out;
  for (auto [placeholder, given] : facts) {
    if (!given || used.count(placeholder) != 0) continue;
    out.push_back(placeholder_field(placeholder).label() +
                  " is given, but no profile of this spec uses it (" + profiles + ")");
  }
  return out;
}

std::string today_utc() {
  std::time_t now = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != '\0') {
    char* end = nullptr;
    long long seconds = std::strtoll(epoch, &end, 10);
    if (end != nullptr && *end == '\0' && seconds >= 0) now = static_cast<std::time_t>(seconds);
  }
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace poolcert
