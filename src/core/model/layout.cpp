#include "poolcert/model/layout.hpp"

namespace poolcert {

std::string output_stem(const std::string& owner_fqdn, const std::string& certificate) {
  return certificate.empty() ? owner_fqdn : owner_fqdn + "." + certificate;
}

std::string output_file_name(const std::string& owner_fqdn, const std::string& certificate,
                             OutputFile kind) {
  const char* extension = ".key";
  switch (kind) {
    case OutputFile::kKey:
      extension = ".key";
      break;
    case OutputFile::kCsr:
      extension = ".csr";
      break;
    case OutputFile::kInf:
      extension = ".inf";
      break;
    case OutputFile::kPfx:
      extension = ".pfx";
      break;
  }
  return output_stem(owner_fqdn, certificate) + extension;
}

const std::string& key_owner(const PoolSpec& spec, const std::string& server_fqdn,
                             const CertificateSpec& certificate) {
  return certificate.profile.shared ? spec.pool_fqdn : server_fqdn;
}

}  // namespace poolcert
