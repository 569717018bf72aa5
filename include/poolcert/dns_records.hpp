// The DNS records a pool needs, derived from the profile's record rules, checked for coherence
// with the certificates, and written for BIND/NSD, PowerShell and dnscmd.
#pragma once

#include <string>
#include <vector>

#include "poolcert/spec.hpp"

namespace poolcert {

// DnsRecord is one expected record. An A record whose address the spec does not give (no vip)
// has `placeholder` set and `address` holds the placeholder text, such as "<vip>".
struct DnsRecord {
  std::string zone;  // the zone it belongs in (a SIP domain, or the name's parent)
  std::string name;  // fully qualified, no trailing dot
  std::string type;  // "A", "CNAME", "SRV"
  int ttl = 3600;
  std::string address;  // A
  std::string target;   // CNAME, SRV (no trailing dot)
  int priority = 0;     // SRV
  int weight = 0;       // SRV
  int port = 0;         // SRV
  bool placeholder = false;
  std::string why;
};

// derive_dns_records expands the profile's record rules for the spec, once per SIP domain where a
// rule names {sip_domain}, in profile then spec order. Throws std::invalid_argument when a rule
// gives a name that is not a DNS name.
std::vector<DnsRecord> derive_dns_records(const PoolSpec& spec);

// dns_coherence_warnings checks that every SRV target is a name in every server's certificate
// (the profile's SANs) and lies in the SRV record's own domain (DOMAIN.md: strict domain
// matching). One line per problem.
std::vector<std::string> dns_coherence_warnings(const PoolSpec& spec,
                                                const std::vector<DnsRecord>& records);

// dns_placeholder_warnings names each record printed with a placeholder (no vip in the spec).
std::vector<std::string> dns_placeholder_warnings(const std::vector<DnsRecord>& records);

// srv_domain is the domain an SRV name serves: "_sipinternaltls._tcp.company.com" ->
// "company.com".
std::string srv_domain(const std::string& srv_name);

// Text renderings. zone_text: BIND master-file text, one $ORIGIN block per zone (records only,
// to paste into existing zones). zone_file: a complete zone (SOA, NS) for one zone, for a lab
// DNS server. powershell_text: DnsServer module cmdlets. dnscmd_text: Windows Server 2003 dnscmd.
std::string zone_text(const std::vector<DnsRecord>& records);
std::string zone_file(const std::string& zone, const std::vector<DnsRecord>& records);
std::string powershell_text(const std::vector<DnsRecord>& records);
std::string dnscmd_text(const std::vector<DnsRecord>& records);

// zones lists the zones of `records`, in first-seen order.
std::vector<std::string> zones(const std::vector<DnsRecord>& records);

}  // namespace poolcert
