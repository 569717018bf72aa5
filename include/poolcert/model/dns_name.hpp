// DNS host-name validation for every name that can reach a certificate or a DNS record.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace poolcert {

// NameCheck is the outcome of checking one name: the normalised name (lower case, no trailing
// dot) on success, or a reason saying what is wrong with it.
struct NameCheck {
  std::string name;    // normalised; empty when !ok()
  std::string reason;  // empty when ok()
  bool wildcard = false;
  bool ok() const noexcept { return reason.empty(); }
};

// check_dns_name validates `name` as a host name (RFC 1123 2.1, RFC 1035 2.3.4): labels of 1-63
// letters, digits and hyphens, not starting or ending with a hyphen, no empty label, at most 253
// characters without the trailing dot, which is dropped; letters are lower-cased. With
// `allow_wildcard`, a leftmost label of exactly "*" is accepted (RFC 6125 6.4.3) and flagged.
// Never throws.
NameCheck check_dns_name(std::string_view name, bool allow_wildcard = false);

// is_ipv4_address is true for a dotted-quad IPv4 address ("10.0.0.50"), nothing more or less: no
// NUL inside, no trailing text.
bool is_ipv4_address(std::string_view text);

// port_number reads a TCP/UDP port, 1 to 65535, written in decimal digits only; nullopt otherwise.
std::optional<int> port_number(std::string_view text);

// same_dns_name compares two normalised names case-insensitively.
bool same_dns_name(std::string_view a, std::string_view b) noexcept;

// to_lower_ascii lower-cases ASCII letters only (DNS names are compared that way, RFC 4343).
std::string to_lower_ascii(std::string_view s);

}  // namespace poolcert
