// Reading what CAs and tools really hand over: PEM (any number of blocks), DER certificates and
// requests, PKCS#7 (.p7b/.p7c) in PEM or DER.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// X509Objects is everything read from one file, in file order.
struct X509Objects {
  std::string encoding;  // "PEM", "DER" or "PKCS#7" (+ " PEM"/" DER")
  std::vector<ossl::UniquePtr<X509>> certificates;
  std::vector<ossl::UniquePtr<X509_REQ>> requests;
};

// parse_x509_objects decodes `bytes` (the content of `name`, used in messages). Throws
// BadFileError naming the file and what is wrong: empty, a private key, a truncated PEM block,
// bytes that are no certificate, request or PKCS#7, a PKCS#7 with no certificates.
X509Objects parse_x509_objects(std::string_view bytes, const std::filesystem::path& name);

// load_x509_objects reads and decodes a file. Throws IoError or BadFileError (both kBadInput).
X509Objects load_x509_objects(const std::filesystem::path& file);

// RequestKeyReader reads the public key fingerprints of many certificate requests cheaply: it
// decodes them in a library context of its own that has no providers, so OpenSSL keeps each
// request's SubjectPublicKeyInfo as encoded and skips setting up a key decoder (about half a
// million instructions per request, and all that verify needs of a CSR is the fingerprint).
// The requests never leave it: they could do nothing else in that context.
class RequestKeyReader {
 public:
  // Throws OpenSslError when the library context cannot be made.
  RequestKeyReader();

  // first_request_spki_sha256 reads `file` as load_x509_objects does and gives spki_sha256 of
  // its first request's SubjectPublicKeyInfo, or nullopt when the file holds no request. Throws
  // as load_x509_objects does (the same checks, the same messages).
  std::optional<std::string> first_request_spki_sha256(const std::filesystem::path& file) const;

 private:
  ossl::UniquePtr<OSSL_LIB_CTX> libctx_;
  ossl::UniquePtr<OSSL_PROVIDER> null_provider_;  // unloaded before the context is freed
};

}  // namespace poolcert
