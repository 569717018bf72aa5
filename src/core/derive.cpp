#include "poolcert/derive.hpp"

#include <algorithm>
#include <stdexcept>

#include "poolcert/dns_name.hpp"

namespace poolcert {
namespace {

// Placeholders that take one value per SIP domain or per meet URL; the others have one value.
bool is_many_valued(const std::string& name) {
  return name == "sip_domain" || name == "meet";
}

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

}  // namespace

const std::vector<std::string>& known_placeholders() {
  static const std::vector<std::string> kNames = {
      "pool_fqdn",         "pool_host",       "pool_domain", "sip_domain", "primary_sip_domain",
      "server_fqdn",       "server_host",     "vip",         "web_fqdn",   "web_vip",
      "web_external_fqdn", "webconf_fqdn",    "meet",        "dialin",     "admin",
      "sign_in_port",      "sip_internal_tcp"};
  return kNames;
}

std::string pattern_problem(const std::string& pattern) {
  if (pattern.empty()) return "empty pattern";
  try {
    int many = 0;
    for (const Piece& p : split_pattern(pattern)) {
      if (!p.placeholder) continue;
      const auto& known = known_placeholders();
      if (std::find(known.begin(), known.end(), p.text) == known.end()) {
        return "unknown placeholder {" + p.text + "}";
      }
      if (is_many_valued(p.text)) ++many;
    }
    if (many > 1) return "at most one many-valued placeholder ({sip_domain}, {meet}) per pattern";
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
  vars["pool_domain"] = {parent_domain(spec.pool_fqdn)};
  vars["sip_domain"] = spec.sip_domains;
  vars["primary_sip_domain"] =
      optional_value(spec.sip_domains.empty() ? "" : spec.sip_domains.front());
  vars["vip"] = optional_value(spec.vip);
  vars["web_fqdn"] = optional_value(spec.web_fqdn);
  vars["web_vip"] = optional_value(spec.web_vip);
  vars["web_external_fqdn"] = optional_value(spec.web_external_fqdn);
  vars["webconf_fqdn"] = optional_value(spec.webconf_fqdn);
  vars["meet"] = spec.simple_urls.meet;
  vars["dialin"] = optional_value(spec.simple_urls.dialin);
  vars["admin"] = optional_value(spec.simple_urls.admin);
  vars["sign_in_port"] = {std::to_string(spec.dns.sign_in_port)};
  vars["sip_internal_tcp"] = optional_value(spec.dns.sip_internal_tcp ? "true" : "");
  return vars;
}

PatternVars pattern_vars(const PoolSpec& spec, const ServerSpec& server) {
  PatternVars vars = pool_vars(spec);
  vars["server_fqdn"] = {server.fqdn};
  vars["server_host"] = {host_label(server.fqdn)};
  return vars;
}

std::vector<std::string> expand_pattern(const std::string& pattern, const PatternVars& vars) {
  std::vector<Piece> pieces = split_pattern(pattern);
  const std::vector<std::string>* many = nullptr;
  for (const Piece& p : pieces) {
    if (!p.placeholder) continue;
    auto it = vars.find(p.text);
    if (it == vars.end()) throw std::invalid_argument("unknown placeholder {" + p.text + "}");
    if (it->second.size() != 1 || is_many_valued(p.text)) {
      if (many != nullptr && many != &it->second) {
        throw std::invalid_argument("pattern names two many-valued placeholders");
      }
      many = &it->second;
    }
  }
  std::size_t rounds = many == nullptr ? 1 : many->size();
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
      s += (&values == many) ? values[i] : values.front();
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<CertificatePlan> derive_plans(const PoolSpec& spec, const ServerSpec& server) {
  std::vector<CertificatePlan> plans;
  for (const CertificateSpec& cert : spec.certificates)
    plans.push_back(derive_plan(spec, server, cert));
  return plans;
}

CertificatePlan derive_plan(const PoolSpec& spec, const ServerSpec& server,
                            const CertificateSpec& certificate) {
  const Profile& profile = certificate.profile;
  PatternVars vars = pattern_vars(spec, server);
  CertificatePlan plan;
  plan.server_fqdn = server.fqdn;
  plan.certificate = certificate.name;
  plan.profile = profile.name;
  plan.template_name = effective_template(spec, profile);
  plan.exportable = profile.exportable;
  plan.eku = profile.eku_request;
  plan.key_usage = profile.key_usage;
  plan.key = server.key;
  plan.digest = profile.digest;

  std::vector<std::string> cn = expand_pattern(profile.cn_pattern, vars);
  if (cn.size() != 1) throw std::invalid_argument("the CN pattern must give exactly one name");
  NameCheck cn_check = check_dns_name(cn.front(), /*allow_wildcard=*/false);
  if (!cn_check.ok()) {
    throw std::invalid_argument("CN '" + cn.front() + "' (pattern " + profile.cn_pattern +
                                "): " + cn_check.reason);
  }
  plan.common_name = cn_check.name;
  plan.subject = spec.subject;
  plan.subject.emplace_back("CN", plan.common_name);

  // DOMAIN.md: TLS clients ignore the subject when a SAN is present, so the CN comes first.
  auto add = [&plan](const std::string& name, std::string reason) {
    bool seen = std::any_of(plan.sans.begin(), plan.sans.end(),
                            [&](const DerivedName& d) { return same_dns_name(d.name, name); });
    if (!seen) plan.sans.push_back({name, std::move(reason)});
  };
  add(plan.common_name, "the subject CN (pattern " + profile.cn_pattern + ")");
  for (const std::string& pattern : profile.san_patterns) {
    std::vector<std::string> names = expand_pattern(pattern, vars);
    bool per_domain = pattern.find("{sip_domain}") != std::string::npos;
    for (std::size_t i = 0; i < names.size(); ++i) {
      NameCheck check = check_dns_name(names[i], profile.allow_wildcards);
      if (!check.ok()) {
        throw std::invalid_argument("SAN '" + names[i] + "' (pattern " + pattern +
                                    "): " + check.reason);
      }
      std::string reason = "pattern " + pattern;
      if (per_domain) reason += " for SIP domain " + spec.sip_domains[i];
      add(check.name, std::move(reason));
    }
  }
  for (const std::string& extra : server.extra_sans) {
    add(extra, "extra_sans of server " + server.fqdn);
  }
  return plan;
}

}  // namespace poolcert
