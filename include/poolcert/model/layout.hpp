// Where a certificate's files are: the one place output file names are built.
//   <server>.key / .csr / .inf / .pfx               a spec without [[certificate]]
//   <server>.<certificate>.key / .csr / .inf / .pfx  one of several certificates
// A certificate the pool's members share ([key] shared) carries the pool's FQDN for <server>
// (its key and CSR); each member still gets its own PFX of it.
#pragma once

#include <string>

#include "poolcert/model/spec.hpp"

namespace poolcert {

// The kinds of file poolcert writes for one certificate.
enum class OutputFile { kKey, kCsr, kInf, kPfx };

// output_stem is "<owner>" when `certificate` is empty (no [[certificate]]), else
// "<owner>.<certificate>".
std::string output_stem(const std::string& owner_fqdn, const std::string& certificate);

// output_file_name is the stem with the kind's extension: "ocssrv01.company.local.key".
std::string output_file_name(const std::string& owner_fqdn, const std::string& certificate,
                             OutputFile kind);

// key_owner is whose name the key of `certificate` on `server_fqdn` is filed under: the pool's
// for a shared certificate, the server's otherwise.
const std::string& key_owner(const PoolSpec& spec, const std::string& server_fqdn,
                             const CertificateSpec& certificate);

}  // namespace poolcert
