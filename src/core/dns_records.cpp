#include "poolcert/dns_records.hpp"

#include <algorithm>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "poolcert/derive.hpp"
#include "poolcert/dns_name.hpp"
#include "poolcert/error.hpp"

namespace poolcert {
namespace {

bool in_domain(const std::string& name, const std::string& domain) {
  return name == domain || (name.size() > domain.size() &&
                            name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
                            name[name.size() - domain.size() - 1] == '.');
}

// The zone of a name: the longest SIP domain holding it, else the pool's domain, else its parent.
std::string zone_of(const PoolSpec& spec, const std::string& name) {
  std::string best;
  std::vector<std::string> candidates = spec.sip_domains;
  std::size_t dot = spec.pool_fqdn.find('.');
  if (dot != std::string::npos) candidates.push_back(spec.pool_fqdn.substr(dot + 1));
  for (const std::string& d : candidates) {
    if (in_domain(name, d) && d.size() > best.size()) best = d;
  }
  if (!best.empty()) return best;
  dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Expands one field of a rule; "" with `missing` set to the placeholder that has no value.
std::string expand_one(const std::string& pattern, const PatternVars& vars, std::string& missing) {
  for (const std::string& p : pattern_placeholders(pattern)) {
    auto it = vars.find(p);
    if (it != vars.end() && it->second.empty()) {
      missing = p;
      // One server's missing value names the server: two members are two records.
      auto server = vars.find("server_fqdn");
      bool per_server = is_server_placeholder(p) && server != vars.end();
      return "<" + p + (per_server ? " of " + server->second.front() : "") + ">";
    }
  }
  std::vector<std::string> out = expand_pattern(pattern, vars);
  if (out.size() != 1) throw std::invalid_argument("pattern " + pattern + " gives no single value");
  return out.front();
}

std::string checked_name(const std::string& raw, const std::string& pattern) {
  NameCheck check = check_dns_name(raw);
  if (!check.ok()) {
    throw std::invalid_argument("'" + raw + "' (pattern " + pattern + "): " + check.reason);
  }
  return check.name;
}

// An SRV owner is _Service._Proto.Name (RFC 2782): two underscore labels, then a host name.
std::string checked_srv_name(const std::string& raw, const std::string& pattern) {
  static const std::regex kPrefix(R"(_[A-Za-z0-9-]{1,62}\._[A-Za-z0-9-]{1,62}\.)");
  std::smatch m;
  if (!std::regex_search(raw, m, kPrefix, std::regex_constants::match_continuous)) {
    throw std::invalid_argument("'" + raw + "' (pattern " + pattern +
                                "): an SRV name is _service._proto.domain");
  }
  return to_lower_ascii(m.str()) + checked_name(raw.substr(m.length()), pattern);
}

DnsRecord expand_rule(const PoolSpec& spec, const DnsRecordRule& rule, const PatternVars& vars) {
  DnsRecord rec;
  rec.type = rule.type;
  rec.ttl = spec.dns.ttl;
  rec.why = rule.why;
  rec.legacy = rule.legacy;
  rec.view = rule.view;
  std::string missing;
  std::string name = expand_one(rule.name, vars, missing);
  rec.name = rule.type == "SRV" ? checked_srv_name(name, rule.name) : checked_name(name, rule.name);
  if (rule.type == "A") {
    rec.address = expand_one(rule.address, vars, missing);
    rec.placeholder = !missing.empty();
    if (!rec.placeholder && !is_ipv4_address(rec.address)) {
      throw std::invalid_argument(quote_value(rec.address) + " (pattern " + rule.address +
                                  ") is not an IPv4 address");
    }
  } else {
    rec.target = checked_name(expand_one(rule.target, vars, missing), rule.target);
  }
  if (rule.type == "SRV") {
    rec.priority = rule.priority;
    rec.weight = rule.weight;
    std::string port = expand_one(rule.port, vars, missing);
    std::optional<int> number = port_number(port);
    if (!number) {
      throw std::invalid_argument(quote_value(port) + " (pattern " + rule.port +
                                  ") is not a port (1 to 65535)");
    }
    rec.port = *number;
  }
  rec.zone = zone_of(spec, rec.name);
  return rec;
}

bool same_record(const DnsRecord& a, const DnsRecord& b) {
  return a.view == b.view && a.type == b.type && a.name == b.name && a.address == b.address &&
         a.target == b.target && a.port == b.port && a.priority == b.priority &&
         a.weight == b.weight;
}

// Expands `rule` once per value of the many-valued list it names (its members together: a
// record's name and target in one SIP domain), or once.
void expand_over_family(const PoolSpec& spec, const DnsRecordRule& rule, const PatternVars& vars,
                        std::vector<DnsRecord>& out) {
  std::string family;
  for (const std::string* field : {&rule.name, &rule.address, &rule.target, &rule.port}) {
    if (std::string f = placeholder_family_of(*field); !f.empty()) family = f;
  }
  // A record whose name or target names a value the spec does not give is not made, as a SAN
  // pattern gives no name then (an address without its value is printed as a placeholder).
  for (const std::string* field : {&rule.name, &rule.target}) {
    for (const std::string& p : pattern_placeholders(*field)) {
      auto it = vars.find(p);
      if (it != vars.end() && it->second.empty()) return;
    }
  }
  auto add = [&](DnsRecord rec) {
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const DnsRecord& r) { return same_record(r, rec); });
    if (!seen) out.push_back(std::move(rec));
  };
  if (family.empty()) {
    add(expand_rule(spec, rule, vars));
    return;
  }
  std::vector<std::string> members = family_members(family);
  std::size_t count = vars.at(members.front()).size();
  for (std::size_t i = 0; i < count; ++i) {
    PatternVars one = vars;
    for (const std::string& m : members) one[m] = {vars.at(m).at(i)};
    add(expand_rule(spec, rule, one));
  }
}

// The owner name relative to its zone's $ORIGIN ("@" for the apex).
std::string relative(const DnsRecord& r) {
  if (r.name == r.zone) return "@";
  return r.name.substr(0, r.name.size() - r.zone.size() - 1);
}

std::string rdata(const DnsRecord& r) {
  if (r.type == "A") return r.address;
  if (r.type == "CNAME") return r.target + ".";
  return std::to_string(r.priority) + " " + std::to_string(r.weight) + " " +
         std::to_string(r.port) + " " + r.target + ".";
}

std::string ttl_timespan(int ttl) {  // PowerShell's [TimeSpan] "hh:mm:ss" (days as d.hh:mm:ss)
  char buf[32];
  int days = ttl / 86400;
  int rest = ttl % 86400;
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%d.%02d:%02d:%02d", days, rest / 3600, rest % 3600 / 60,
                  rest % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", rest / 3600, rest % 3600 / 60, rest % 60);
  }
  return buf;
}

}  // namespace

std::string srv_domain(const std::string& name) {
  // RFC 2782: _Service._Proto.Name
  std::size_t first = name.find('.');
  if (name.empty() || name[0] != '_' || first == std::string::npos) return name;
  std::size_t second = name.find('.', first + 1);
  if (name[first + 1] != '_' || second == std::string::npos) return name.substr(first + 1);
  return name.substr(second + 1);
}

std::vector<DnsRecord> derive_dns_records(const PoolSpec& spec) {
  PatternVars vars = pool_vars(spec);
  std::vector<DnsRecord> out;
  std::vector<const DnsRecordRule*> rules;  // every certificate's roles need their records
  for (const CertificateSpec& cert : spec.certificates) {
    for (const DnsRecordRule& rule : cert.profile.dns_records) rules.push_back(&rule);
  }
  for (const DnsRecordRule* rule : rules) {
    if (!rule->per_server) {
      if (condition_holds(rule->condition, vars)) expand_over_family(spec, *rule, vars, out);
      continue;
    }
    for (const ServerSpec& server : spec.servers) {
      PatternVars server_vars = pattern_vars(spec, server);
      if (condition_holds(rule->condition, server_vars)) {
        expand_over_family(spec, *rule, server_vars, out);
      }
    }
  }
  return out;
}

std::vector<std::string> dns_coherence_warnings(const PoolSpec& spec,
                                                const std::vector<DnsRecord>& records) {
  std::vector<std::string> warnings;
  // Each server's names, derived once (not once per record).
  std::vector<std::vector<CertificatePlan>> plans;
  plans.reserve(spec.servers.size());
  for (const ServerSpec& server : spec.servers) plans.push_back(derive_plans(spec, server));
  for (const DnsRecord& r : records) {
    std::string label = r.type + " " + r.name;
    if (r.type == "CNAME" && !in_domain(r.target, zone_of(spec, r.name))) {
      // L13 (autodiscover): "CNAME redirection to different domains is not supported over HTTPS".
      warnings.push_back(label + " -> " + r.target + ": the target is outside " +
                         zone_of(spec, r.name) +
                         ": CNAME redirection to different domains is not supported over HTTPS "
                         "(L13); use an A record ([dns] lyncdiscover_cname = false)");
    }
    if (r.type != "SRV") continue;
    std::string domain = srv_domain(r.name);
    if (!in_domain(r.target, domain)) {
      warnings.push_back(label + " -> " + r.target + ": the target is not in " + domain +
                         " (strict domain matching: clients of " + domain +
                         " refuse or prompt for it)");
    }
    for (std::size_t s = 0; s < spec.servers.size(); ++s) {
      const std::vector<CertificatePlan>& server_plans = plans[s];
      bool covered =
          std::any_of(server_plans.begin(), server_plans.end(), [&](const CertificatePlan& plan) {
            return plan.common_name == r.target ||
                   std::any_of(plan.sans.begin(), plan.sans.end(), [&](const DerivedName& d) {
                     return same_dns_name(d.name, r.target);
                   });
          });
      if (!covered) {
        std::string profiles;
        for (const CertificatePlan& plan : server_plans) {
          profiles += (profiles.empty() ? "" : ", ") + plan.profile;
        }
        warnings.push_back(label + " -> " + r.target + ": " + r.target +
                           " is not a SAN of the certificate of " + spec.servers[s].fqdn +
                           " (profile " + profiles + "): clients will refuse the TLS connection");
      }
    }
  }
  return warnings;
}

std::vector<std::string> dns_placeholder_warnings(const std::vector<DnsRecord>& records) {
  std::vector<std::string> warnings;
  for (const DnsRecord& r : records) {
    if (!r.placeholder) continue;
    std::string field = r.address.substr(1, r.address.size() - 2);
    std::string server;
    if (std::size_t of = field.find(" of "); of != std::string::npos) {
      server = field.substr(of + 4);
      field.resize(of);
    }
    std::string give = field.rfind("server_", 0) == 0
                           ? "[[server]] " + field.substr(7) + " of " + server
                           : "[pool] " + field;
    if (field == "server_webconf_address" || field == "server_av_address") {
      give += " (or external_address)";
    } else if (field == "webconf_vip" || field == "av_vip") {
      give += " (or external_vip)";
    }
    warnings.push_back(r.type + " " + r.name + ": address " + r.address +
                       " is not in the spec (give " + give + "); printed as a placeholder");
  }
  return warnings;
}

std::vector<ZoneView> zone_views(const std::vector<DnsRecord>& records) {
  std::vector<ZoneView> out;
  for (const DnsRecord& r : records) {
    ZoneView zv{r.view, r.zone};
    if (std::find(out.begin(), out.end(), zv) == out.end()) out.push_back(std::move(zv));
  }
  return out;
}

std::string zone_file_name(const ZoneView& zone) {
  return zone.zone + (zone.view == "external" ? ".external" : "") + ".zone";
}

std::string zone_text(const std::vector<DnsRecord>& records) {
  std::ostringstream out;
  for (const ZoneView& zv : zone_views(records)) {
    if (zv.view == "external") out << "; external (perimeter) DNS\n";
    out << "$ORIGIN " << zv.zone << ".\n";
    for (const DnsRecord& r : records) {
      if (r.zone != zv.zone || r.view != zv.view) continue;
      out << relative(r) << "\t" << r.ttl << "\tIN\t" << r.type << "\t" << rdata(r);
      if (r.placeholder) out << "\t; placeholder: fill in before use";
      out << "\n";
    }
    out << "\n";
  }
  return out.str();
}

std::string zone_file(const ZoneView& zv, const std::vector<DnsRecord>& records) {
  const std::string& zone = zv.zone;
  std::ostringstream out;
  out << "; zone " << zone << (zv.view == "external" ? " (external view)" : "")
      << " written by poolcert dns, for a lab DNS server\n"
      << "$ORIGIN " << zone << ".\n"
      << "$TTL 3600\n"
      << "@\tIN\tSOA\tns." << zone << ". hostmaster." << zone << ". ( 1 3600 600 86400 300 )\n"
      << "@\tIN\tNS\tns." << zone << ".\n"
      << "ns\tIN\tA\t127.0.0.1\n";
  for (const DnsRecord& r : records) {
    if (r.zone != zone || r.view != zv.view) continue;
    if (r.placeholder) {
      out << "; " << relative(r) << " " << r.type << " " << rdata(r) << " (placeholder)\n";
      continue;
    }
    out << relative(r) << "\t" << r.ttl << "\tIN\t" << r.type << "\t" << rdata(r) << "\n";
  }
  return out.str();
}

std::string powershell_text(const std::vector<DnsRecord>& records) {
  std::ostringstream out;
  std::string view = "internal";
  for (const DnsRecord& r : records) {
    if (r.view != view) {
      view = r.view;
      out << "# " << (view == "external" ? "external (perimeter)" : "internal")
          << " DNS from here on\n";
    }
    std::string common = " -ZoneName \"" + r.zone + "\" -Name \"" + relative(r) +
                         "\" -TimeToLive " + ttl_timespan(r.ttl);
    if (r.placeholder) out << "# fill in " << r.address << ": ";
    if (r.type == "A") {
      out << "Add-DnsServerResourceRecordA" << common << " -IPv4Address \"" << r.address << "\"";
    } else if (r.type == "CNAME") {
      out << "Add-DnsServerResourceRecordCName" << common << " -HostNameAlias \"" << r.target
          << "\"";
    } else {
      out << "Add-DnsServerResourceRecord -Srv" << common << " -DomainName \"" << r.target
          << "\" -Priority " << r.priority << " -Weight " << r.weight << " -Port " << r.port;
    }
    out << "\n";
  }
  return out.str();
}

std::string dnscmd_text(const std::vector<DnsRecord>& records) {
  std::ostringstream out;
  std::string view = "internal";
  for (const DnsRecord& r : records) {
    if (r.view != view) {
      view = r.view;
      out << "REM " << (view == "external" ? "external (perimeter)" : "internal")
          << " DNS from here on\n";
    }
    if (r.placeholder) out << "REM fill in " << r.address << ": ";
    out << "dnscmd . /RecordAdd " << r.zone << " " << relative(r) << " " << r.ttl << " " << r.type
        << " " << rdata(r) << "\n";
  }
  return out.str();
}

}  // namespace poolcert
