// Decoding a certificate or request into plain facts for reports (`poolcert inspect`) and checks.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "poolcert/x509/key.hpp"
#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// X509Facts are the facts of one certificate or request that poolcert reports and checks.
struct X509Facts {
  std::string kind;                                          // "certificate" or "csr"
  std::vector<std::pair<std::string, std::string>> subject;  // in encoding order, short names
  std::string common_name;                                   // the last CN, "" when none
  std::vector<std::pair<std::string, std::string>> issuer;   // certificates only
  std::string serial;                                        // hex, certificates only
  std::vector<std::string> dns_sans;                         // in extension order
  std::vector<std::string> other_sans;  // "IP:10.0.0.1", "email:...", "URI:..."
  bool has_eku = false;
  std::vector<std::string> eku;  // serverAuth, clientAuth, or dotted OIDs
  bool has_key_usage = false;
  std::vector<std::string> key_usage;
  std::optional<bool> is_ca;  // basicConstraints cA when the extension is present
  std::vector<std::string> crl_distribution_points;  // URIs
  KeyFacts key;
  std::string signature_algorithm;  // OpenSSL long name, e.g. sha256WithRSAEncryption
  std::optional<std::time_t> not_before;
  std::optional<std::time_t> not_after;
  std::string spki_sha256;
  std::optional<bool> signature_valid;  // requests: the self-signature verifies
  // The AD CS template: the name extension (1.3.6.1.4.1.311.20.2), else the v2 template
  // extension's OID (1.3.6.1.4.1.311.21.7); "" when neither is present.
  std::string template_name;
};

// certificate_facts describes a certificate. Throws OpenSslError on an unusable public key.
X509Facts certificate_facts(X509* cert);

// request_facts describes a request, including whether its self-signature verifies.
X509Facts request_facts(X509_REQ* req);

// subject_text renders a certificate's subject as join_name does, without decoding the rest.
std::string subject_text(const X509* cert);

// format_utc renders a time as 2026-11-25T10:15:00Z.
std::string format_utc(std::time_t t);

// join_name renders a name as "O=Company, CN=ocspool.company.local".
std::string join_name(const std::vector<std::pair<std::string, std::string>>& name);

}  // namespace poolcert
