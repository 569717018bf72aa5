// certreq.exe request files (INF): for admins who want the key born on the Windows server itself.
// `certreq -new <server>.inf <server>.req` makes a request with exactly the names of poolcert's
// own CSR (same derivation).
#pragma once

#include <string>

#include "poolcert/derive.hpp"

namespace poolcert {

// certreq_inf writes the INF of `plan` with CRLF line endings: [Version], [NewRequest] (legacy
// SChannel provider, ProviderType 12: DOMAIN.md, CNG keys fail to assign), [EnhancedKeyUsage
// Extension], [Extensions] (the SANs as 2.5.29.17 "{text}" with one _continue_ line per name),
// and [RequestAttributes] CertificateTemplate when the plan names one. Throws UsageError for a
// key certreq's SChannel provider cannot make (anything but RSA).
std::string certreq_inf(const CertificatePlan& plan);

}  // namespace poolcert
