#include "poolcert/x509/certreq_inf.hpp"

#include <openssl/objects.h>

#include <cstdio>

#include "poolcert/model/error.hpp"
#include "poolcert/model/layout.hpp"
#include "poolcert/x509/x509_vocab.hpp"

namespace poolcert {
namespace {

// certreq's KeyUsage is the first byte of the KeyUsage BIT STRING: digitalSignature is 0x80.
unsigned key_usage_byte(const std::vector<std::string>& usages) {
  unsigned byte = 0;
  for (const std::string& u : usages) {
    int bit = key_usage_bit(u);
    if (bit >= 0 && bit < 8) byte |= 0x80u >> bit;
  }
  return byte;
}

// A value in an X.500 name string is quoted when it holds a separator; inside an INF string
// every quote is doubled.
std::string x500_value(const std::string& value) {
  bool quote = value.find_first_of(",+=\"\\<>#;") != std::string::npos;
  std::string out;
  for (char c : value) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quote ? "\"" + out + "\"" : out;
}

std::string inf_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// certreq writes the most specific RDN first: CN, OU, O, L, S (not ST), C.
std::string subject_string(const CertificatePlan& plan) {
  std::string out;
  for (auto it = plan.subject.rbegin(); it != plan.subject.rend(); ++it) {
    std::string attr = it->first == "ST" ? "S" : it->first;
    out += (out.empty() ? "" : ", ") + attr + "=" + x500_value(it->second);
  }
  return out;
}

std::string dotted_oid(const std::string& eku) {
  char buf[80];
  OBJ_obj2txt(buf, sizeof buf, OBJ_nid2obj(eku_nid(eku)), 1);
  return buf;
}

// [NewRequest]'s key lines. RSA keys use the legacy SChannel provider (ProviderType 12):
// DOMAIN.md, Windows interop: admins report Lync failing to use CNG-held RSA keys. An ECDSA key
// can only be made by a CNG provider: KeyAlgorithm with the Microsoft Software Key Storage
// Provider (certreq_1.md: KeyAlgorithm ECDSA_P256, ECDSA_P384).
std::vector<std::string> key_lines(const CertificatePlan& plan) {
  char usage[8];
  std::snprintf(usage, sizeof usage, "0x%02X", key_usage_byte(plan.key_usage));
  std::string exportable = std::string("Exportable = ") + (plan.exportable ? "TRUE" : "FALSE");
  if (plan.key.type == KeyType::kEcdsa) {
    std::string alg = plan.key.curve == "P-384" ? "ECDSA_P384" : "ECDSA_P256";
    return {"KeyAlgorithm = " + alg,
            "KeyLength = " + std::to_string(plan.key.bits),
            std::string("KeyUsage = ") + usage,
            exportable,
            "MachineKeySet = TRUE",
            "ProviderName = \"Microsoft Software Key Storage Provider\""};
  }
  return {"KeyLength = " + std::to_string(plan.key.bits),
          "KeySpec = 1",
          std::string("KeyUsage = ") + usage,
          exportable,
          "MachineKeySet = TRUE",
          "ProviderName = \"Microsoft RSA SChannel Cryptographic Provider\"",
          "ProviderType = 12"};
}

}  // namespace

std::string certreq_inf(const CertificatePlan& plan) {
  std::string stem = output_stem(plan.server_fqdn, plan.certificate);
  std::string where = plan.shared ? "one member of the pool (the key is exportable: carry it to "
                                    "the others as a PFX)"
                                  : plan.server_fqdn;
  std::vector<std::string> lines = {
      "; on " + where + ": certreq -new " +
          output_file_name(plan.server_fqdn, plan.certificate, OutputFile::kInf) + " " + stem +
          ".req",
      "; written by poolcert from profile " + plan.profile,
      "[Version]",
      "Signature=\"$Windows NT$\"",
      "",
      "[NewRequest]",
      "Subject = " + inf_quote(subject_string(plan)),
  };
  for (std::string& line : key_lines(plan)) lines.push_back(std::move(line));
  lines.insert(lines.end(), {"RequestType = PKCS10", "HashAlgorithm = " + plan.digest,
                             "FriendlyName = " + inf_quote(plan.friendly_name), "",
                             "[EnhancedKeyUsageExtension]"});
  for (const std::string& eku : plan.eku) {
    lines.push_back("OID = " + dotted_oid(eku) + " ; " + eku);
  }
  if (!plan.sans.empty()) {
    lines.insert(lines.end(), {"", "[Extensions]", "2.5.29.17 = \"{text}\""});
    for (const DerivedName& san : plan.sans) {
      lines.push_back("_continue_ = \"dns=" + san.name + "&\"");
    }
  }
  if (!plan.template_name.empty()) {
    lines.insert(lines.end(),
                 {"", "[RequestAttributes]", "CertificateTemplate = " + plan.template_name});
  }
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";  // certreq reads CRLF files
  return out;
}

}  // namespace poolcert
