#include "poolcert/x509/x509_vocab.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <array>

#include "poolcert/model/error.hpp"

namespace poolcert {
namespace {

struct EkuEntry {
  const char* name;
  int nid;
};

// Short names as openssl x509 -text prints them, so reports and profiles read the same.
constexpr std::array<EkuEntry, 6> kEkus = {{
    {"serverAuth", NID_server_auth},
    {"clientAuth", NID_client_auth},
    {"codeSigning", NID_code_sign},
    {"emailProtection", NID_email_protect},
    {"timeStamping", NID_time_stamp},
    {"OCSPSigning", NID_OCSP_sign},
}};

// RFC 5280 4.2.1.3, in bit order.
constexpr std::array<const char*, 9> kKeyUsages = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};

}  // namespace

bool is_known_eku(const std::string& name) {
  return eku_nid(name) != NID_undef;
}

int eku_nid(const std::string& name) {
  for (const EkuEntry& e : kEkus) {
    if (name == e.name) return e.nid;
  }
  return NID_undef;
}

std::string eku_name(int nid) {
  for (const EkuEntry& e : kEkus) {
    if (nid == e.nid) return e.name;
  }
  const char* sn = OBJ_nid2sn(nid);
  return sn != nullptr ? sn : "unknown";
}

bool is_known_key_usage(const std::string& name) {
  return key_usage_bit(name) >= 0;
}

int key_usage_bit(const std::string& name) {
  auto it = std::find(kKeyUsages.begin(), kKeyUsages.end(), name);
  return it == kKeyUsages.end() ? -1 : static_cast<int>(it - kKeyUsages.begin());
}

std::vector<std::string> key_usage_names(unsigned long bits) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kKeyUsages.size(); ++i) {
    if (bits & (1UL << i)) out.emplace_back(kKeyUsages[i]);
  }
  return out;
}

std::string subject_value_problem(const std::string& attr, const std::string& value) {
  if (attr == "C") {
    bool ok = value.size() == 2 &&
              std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    return ok ? "" : quote_value(value) + " is not a two-letter upper-case country code (ISO 3166)";
  }
  if (value.empty()) return "empty value";
  // RFC 5280's upper bounds count characters: UTF-8 continuation bytes are not characters.
  auto characters = std::count_if(value.begin(), value.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
  if (characters > 64) return "longer than 64 characters (RFC 5280 upper bound)";
  bool printable = std::all_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  });
  return printable ? "" : "contains a control character";
}

}  // namespace poolcert
