// Reading what CAs and tools really hand over: PEM (any number of blocks), DER certificates and
// requests, PKCS#7 (.p7b/.p7c) in PEM or DER.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "poolcert/ossl.hpp"

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

}  // namespace poolcert
