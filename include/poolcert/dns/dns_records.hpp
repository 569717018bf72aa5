// The DNS records a pool needs, derived from the profile's record rules, checked for coherence
// with the certificates, and written for BIND/NSD, PowerShell and dnscmd.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "poolcert/model/spec.hpp"

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
  bool legacy = false;            // only clients before Lync 2013 and desktop handsets need it (S3)
  std::string view = "internal";  // "internal" or "external" (perimeter) DNS
  std::string why;
};

// ZoneView is one zone of one view: the records to put into one zone of one DNS server.
struct ZoneView {
  std::string view;
  std::string zone;
  bool operator==(const ZoneView&) const = default;
};

// derive_dns_records expands the profiles' record rules for the spec: once per value of the
// many-valued list a rule names ({sip_domain}, {meet}, ...), once per server for a per-server
// rule, in profile then spec order; a record two rules give is kept once. Throws
// std::invalid_argument when a rule gives a name that is not a DNS name.
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

// Text renderings. zone_text: BIND master-file text, one $ORIGIN block per zone and view (records
// only, to paste into existing zones; external blocks headed by a comment). zone_file: a complete
// zone (SOA, NS) of one zone and view, for a lab DNS server. powershell_text: DnsServer module
// cmdlets. dnscmd_text: Windows Server 2003 dnscmd. The last two mark external records with a
// comment line where the external ones begin.
std::string zone_text(const std::vector<DnsRecord>& records);
std::string zone_file(const ZoneView& zone, const std::vector<DnsRecord>& records);
std::string powershell_text(const std::vector<DnsRecord>& records);
std::string dnscmd_text(const std::vector<DnsRecord>& records);

// zone_files is zone_file for every zone view of `records`, in zone_views order, in one pass.
std::vector<std::pair<ZoneView, std::string>> zone_files(const std::vector<DnsRecord>& records);

// zone_views lists the zones of `records` by view, in first-seen order.
std::vector<ZoneView> zone_views(const std::vector<DnsRecord>& records);

// zone_file_name is "<zone>.zone" for the internal view, "<zone>.external.zone" for the external.
std::string zone_file_name(const ZoneView& zone);

}  // namespace poolcert
