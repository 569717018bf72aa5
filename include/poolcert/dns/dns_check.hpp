// Checking expected records on a live DNS server, with c-ares (no hand-written DNS packets).
#pragma once

#include <string>
#include <vector>

#include "poolcert/dns/dns_records.hpp"

namespace poolcert {

// Resolver is a DNS server to ask: an IPv4 or IPv6 address and a port.
struct Resolver {
  std::string address;
  int port = 53;
};

// parse_resolver reads "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT". Throws UsageError.
Resolver parse_resolver(const std::string& text);

// DnsCheckOptions bound every query: `timeout_s` for the whole check, never a hang.
struct DnsCheckOptions {
  std::vector<Resolver> resolvers;  // empty: the system's (/etc/resolv.conf)
  double timeout_s = 5;
};

enum class RecordStatus { kPresent, kMissing, kDifferent, kError };

const char* record_status_name(RecordStatus status) noexcept;  // present, missing, ...

// RecordCheck is what the DNS said about one expected record.
struct RecordCheck {
  DnsRecord expected;
  RecordStatus status = RecordStatus::kError;
  std::string message;
  std::vector<std::string> found;  // "10.0.0.50", "0 0 5061 ocspool.company.com"
};

// check_dns_records queries every record (in parallel, on one c-ares channel) and compares the
// answers: present (equal), missing (NXDOMAIN or no such record), different (address, priority,
// weight, port or target), error (timeout, SERVFAIL, refused, a malformed answer: with the cause
// and the server's address). Results are in the order of `records`. Throws OpenSslError-free
// Error (kOperation) when c-ares cannot start.
std::vector<RecordCheck> check_dns_records(const std::vector<DnsRecord>& records,
                                           const DnsCheckOptions& options);

}  // namespace poolcert
