// certreq.exe request files (INF): for admins who want the key born on the Windows server itself.
// `certreq -new <server>.inf <server>.req` makes a request with exactly the names of poolcert's
// own CSR (same derivation).
#pragma once

#include <string>

#include "poolcert/model/derive.hpp"

namespace poolcert {

// certreq_inf writes the INF of `plan` with CRLF line endings: [Version], [NewRequest] (an RSA
// key in the legacy SChannel provider, ProviderType 12: DOMAIN.md, admins report CNG-held RSA keys
// failing to assign; an ECDSA key with KeyAlgorithm in the CNG Microsoft Software Key Storage
// Provider, the only kind that makes one), FriendlyName, [EnhancedKeyUsageExtension],
// [Extensions] (the SANs as 2.5.29.17 "{text}" with one _continue_ line per name; none when the
// plan has no SAN), and [RequestAttributes] CertificateTemplate when the plan names one.
std::string certreq_inf(const CertificatePlan& plan);

}  // namespace poolcert
