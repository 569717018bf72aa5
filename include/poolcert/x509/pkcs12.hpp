// PKCS#12 (.pfx) bundles for Windows: key, leaf and chain under one passphrase.
#pragma once

#include <string>
#include <vector>

#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// Pkcs12Options choose the encryption: AES-256-CBC with PBKDF2 and a SHA-256 MAC by default;
// `legacy` gives 3DES and a SHA-1 MAC for older Windows Server imports.
struct Pkcs12Options {
  std::string friendly_name;
  bool legacy = false;
};

// build_pkcs12 bundles `key`, `leaf` and `chain` (issuer first) and returns the DER bytes.
// Throws OpenSslError.
std::string build_pkcs12(EVP_PKEY* key, X509* leaf, const std::vector<X509*>& chain,
                         const std::string& passphrase, const Pkcs12Options& options);

}  // namespace poolcert
