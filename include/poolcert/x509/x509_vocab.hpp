// The X.509 words profiles and reports use, mapped to OpenSSL's NIDs and bits: extended key
// usages (RFC 5280 4.2.1.12), key usages (RFC 5280 4.2.1.3) and subject attributes.
#pragma once

#include <string>
#include <vector>

namespace poolcert {

// is_known_eku tells whether `name` is an extended key usage poolcert knows ("serverAuth", ...).
bool is_known_eku(const std::string& name);

// eku_nid gives the OpenSSL NID of a known extended key usage name; NID_undef otherwise.
int eku_nid(const std::string& name);

// eku_name gives poolcert's name of an EKU NID, or its dotted OID text when unknown.
std::string eku_name(int nid);

// is_known_key_usage tells whether `name` is a key usage bit name ("digitalSignature", ...).
bool is_known_key_usage(const std::string& name);

// key_usage_bit gives the bit number of a known key usage name (RFC 5280: digitalSignature = 0).
int key_usage_bit(const std::string& name);

// key_usage_names lists the names of the bits set in a KeyUsage BIT STRING value, in bit order.
std::vector<std::string> key_usage_names(unsigned long bits);

// subject_value_problem checks a subject attribute value (C, ST, L, O, OU); "" when good.
// C is two upper-case letters (ISO 3166); the others 1-64 printable characters (RFC 5280 upper
// bounds).
std::string subject_value_problem(const std::string& attr, const std::string& value);

}  // namespace poolcert
