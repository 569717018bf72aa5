#include "poolcert/dns/dns_records.hpp"

#include <algorithm>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"

namespace poolcert {
namespace {

bool in_domain(const std::string& name, const std::string& domain) {
  return name == domain || (name.size() > domain.size() &&
                            name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
                            name[name.size() - domain.size() - 1] == '.');
}

// The zones of a spec's names: its SIP domains and the pool's domain, in a set (records are
// thousands with thousands of SIP domains).
class ZoneIndex {
 public:
  explicit ZoneIndex(const PoolSpec& spec)
      : zones_(spec.sip_domains.begin(), spec.sip_domains.end()) {
    std::size_t dot = spec.pool_fqdn.find('.');
    if (dot != std::string::npos) zones_.insert(spec.pool_fqdn.substr(dot + 1));
  }
  // The zone of a name: the longest of the zones holding it (its longest suffix that is one),
  // else its parent.
  std::string of(const std::string& name) const {
    for (std::size_t start = 0; start != std::string::npos;) {
      std::string_view suffix = std::string_view(name).substr(start);
      if (zones_.count(std::string(suffix)) != 0) return std::string(suffix);
      std::size_t dot = name.find('.', start);
      start = dot == std::string::npos ? dot : dot + 1;
    }
    std::size_t dot = name.find('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
  }

 private:
  std::unordered_set<std::string> zones_;
};

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

DnsRecord expand_rule(const PoolSpec& spec, const ZoneIndex& zones, const DnsRecordRule& rule,
                      const PatternVars& vars) {
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
  rec.zone = zones.of(rec.name);
  return rec;
}

// What makes two records the same record (a key for a set: a search of the list was quadratic in
// the number of SIP domains).
std::string record_key(const DnsRecord& r) {
  return r.view + '\n' + r.type + '\n' + r.name + '\n' + r.address + '\n' + r.target + '\n' +
         std::to_string(r.port) + '\n' + std::to_string(r.priority) + '\n' +
         std::to_string(r.weight);
}

// Expands `rule` once per value of the many-valued list it names (its members together: a
// record's name and target in one SIP domain), or once.
void expand_over_family(const PoolSpec& spec, const ZoneIndex& zones, const DnsRecordRule& rule,
                        const PatternVars& vars, std::vector<DnsRecord>& out,
                        std::unordered_set<std::string>& seen) {
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
    if (seen.insert(record_key(rec)).second) out.push_back(std::move(rec));
  };
  if (family.empty()) {
    add(expand_rule(spec, zones, rule, vars));
    return;
  }
  std::vector<std::string> members = family_members(family);
  std::size_t count = vars.at(members.front()).size();
  PatternVars one = vars;  // copied once: each copy holds every SIP domain
  for (std::size_t i = 0; i < count; ++i) {
    for (const std::string& m : members) one[m] = {vars.at(m).at(i)};
    add(expand_rule(spec, zones, rule, one));
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
  std::unordered_set<std::string> seen;  // record_key of each record in `out`
  ZoneIndex zones(spec);
  std::vector<const DnsRecordRule*> rules;  // every certificate's roles need their records
  for (const CertificateSpec& cert : spec.certificates) {
    for (const DnsRecordRule& rule : cert.profile.dns_records) rules.push_back(&rule);
  }
  for (const DnsRecordRule* rule : rules) {
    if (!rule->per_server) {
      if (condition_holds(rule->condition, vars))
        expand_over_family(spec, zones, *rule, vars, out, seen);
      continue;
    }
    for (const ServerSpec& server : spec.servers) {
      PatternVars server_vars = pattern_vars(spec, server);
      if (condition_holds(rule->condition, server_vars)) {
        expand_over_family(spec, zones, *rule, server_vars, out, seen);
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
  std::vector<std::unordered_set<std::string>> names;  // each server's CNs and SANs, lower-case
  plans.reserve(spec.servers.size());
  for (const ServerSpec& server : spec.servers) {
    plans.push_back(derive_plans(spec, server));
    std::unordered_set<std::string>& mine = names.emplace_back();
    for (const CertificatePlan& plan : plans.back()) {
      mine.insert(to_lower_ascii(plan.common_name));
      for (const DerivedName& d : plan.sans) mine.insert(to_lower_ascii(d.name));
    }
  }
  for (const DnsRecord& r : records) {
    std::string label = r.type + " " + r.name;
    if (r.type == "CNAME" && !in_domain(r.target, r.zone)) {
      // L13 (autodiscover): "CNAME redirection to different domains is not supported over HTTPS".
      warnings.push_back(label + " -> " + r.target + ": the target is outside " + r.zone +
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
      bool covered = names[s].count(to_lower_ascii(r.target)) != 0;
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
    std::string give = placeholder_field(field).label() + (server.empty() ? "" : " of " + server);
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

namespace {

// The records of each zone view, in first-seen order of the zones and of the records: one pass
// (a pass per zone over every record was quadratic in the number of SIP domains).
std::vector<std::pair<ZoneView, std::vector<const DnsRecord*>>> by_zone(
    const std::vector<DnsRecord>& records) {
  std::vector<std::pair<ZoneView, std::vector<const DnsRecord*>>> out;
  std::unordered_map<std::string, std::size_t> index;
  for (const DnsRecord& r : records) {
    auto [it, fresh] = index.emplace(r.view + '\n' + r.zone, out.size());
    if (fresh) out.push_back({ZoneView{r.view, r.zone}, {}});
    out[it->second].second.push_back(&r);
  }
  return out;
}

}  // namespace

std::vector<ZoneView> zone_views(const std::vector<DnsRecord>& records) {
  std::vector<ZoneView> out;
  for (auto& [zone, members] : by_zone(records)) out.push_back(std::move(zone));
  return out;
}

std::string zone_file_name(const ZoneView& zone) {
  return zone.zone + (zone.view == "external" ? ".external" : "") + ".zone";
}

std::string zone_text(const std::vector<DnsRecord>& records) {
  std::ostringstream out;
  for (const auto& [zv, members] : by_zone(records)) {
    if (zv.view == "external") out << "; external (perimeter) DNS\n";
    out << "$ORIGIN " << zv.zone << ".\n";
    for (const DnsRecord* member : members) {
      const DnsRecord& r = *member;
      out << relative(r) << "\t" << r.ttl << "\tIN\t" << r.type << "\t" << rdata(r);
      if (r.placeholder) out << "\t; placeholder: fill in before use";
      out << "\n";
    }
    out << "\n";
  }
  return out.str();
}

namespace {

std::string zone_file_of(const ZoneView& zv, const std::vector<const DnsRecord*>& members) {
  const std::string& zone = zv.zone;
  std::ostringstream out;
  out << "; zone " << zone << (zv.view == "external" ? " (external view)" : "")
      << " written by poolcert dns, for a lab DNS server\n"
      << "$ORIGIN " << zone << ".\n"
      << "$TTL 3600\n"
      << "@\tIN\tSOA\tns." << zone << ". hostmaster." << zone << ". ( 1 3600 600 86400 300 )\n"
      << "@\tIN\tNS\tns." << zone << ".\n"
      << "ns\tIN\tA\t127.0.0.1\n";
  for (const DnsRecord* member : members) {
    const DnsRecord& r = *member;
    if (r.placeholder) {
      out << "; " << relative(r) << " " << r.type << " " << rdata(r) << " (placeholder)\n";
      continue;
    }
    out << relative(r) << "\t" << r.ttl << "\tIN\t" << r.type << "\t" << rdata(r) << "\n";
  }
  return out.str();
}

}  // namespace

std::string zone_file(const ZoneView& zv, const std::vector<DnsRecord>& records) {
  std::vector<const DnsRecord*> members;
  for (const DnsRecord& r : records) {
    if (r.zone == zv.zone && r.view == zv.view) members.push_back(&r);
  }
  return zone_file_of(zv, members);
}

std::vector<std::pair<ZoneView, std::string>> zone_files(const std::vector<DnsRecord>& records) {
  std::vector<std::pair<ZoneView, std::string>> out;
  for (auto& [zv, members] : by_zone(records)) out.emplace_back(zv, zone_file_of(zv, members));
  return out;
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
