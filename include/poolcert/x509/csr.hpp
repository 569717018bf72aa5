// PKCS#10 certificate requests (RFC 2986) built from a CertificatePlan.
#pragma once

#include <string>

#include "poolcert/model/derive.hpp"
#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// build_csr makes the request of `plan` for `key`: subject, then the requested extensions
// (subjectAltName, extendedKeyUsage, keyUsage as critical), signed with the plan's digest.
// Returns the new request; throws OpenSslError.
ossl::UniquePtr<X509_REQ> build_csr(const CertificatePlan& plan, EVP_PKEY* key);

// encode_csr_pem gives the PEM text ("CERTIFICATE REQUEST") of `req`. Throws OpenSslError.
std::string encode_csr_pem(X509_REQ* req);

}  // namespace poolcert
