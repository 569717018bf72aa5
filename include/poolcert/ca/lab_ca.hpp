// A lab certificate authority for pools without AD CS (issue 6): a root and optionally an issuing
// intermediate kept in one folder with the CA's own settings (ca.json), and leaves issued from
// PKCS#10 requests the way AD CS returns them: a .cer and a .p7b holding the chain.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "poolcert/model/spec.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// LabCaSettings are what `poolcert ca init` is asked for.
struct LabCaSettings {
  std::string name = "poolcert lab";  // CNs "<name> Root CA" and "<name> Issuing CA"
  bool intermediate = false;          // issue from an intermediate signed by the root
  std::string cdp_url;                // CRL distribution point of every leaf; "" for none
  std::string aia_url;                // authorityInfoAccess caIssuers of every leaf; "" for none
  int days = 3650;                    // validity of the CA certificates
  int key_bits = 3072;                // RSA modulus of the CA keys: 2048, 3072 or 4096
};

// LabCaFile is one certificate a lab CA folder holds, with its key.
struct LabCaFile {
  std::string role;  // "root" or "intermediate"
  std::filesystem::path certificate;
  std::filesystem::path key;
  X509Facts facts;
};

// LabCaInit is what init_lab_ca wrote: the certificates (root first) and the settings file.
struct LabCaInit {
  std::filesystem::path dir;
  std::filesystem::path config;
  std::vector<LabCaFile> files;
  std::string cdp_url;
  std::string aia_url;
};

// init_lab_ca makes a lab CA in `dir` (created 0700 when missing): an RSA root (CA:TRUE and
// keyCertSign+cRLSign, both critical; subjectKeyIdentifier), with `settings.intermediate` an
// intermediate signed by it (pathlen:0, AKID/SKID), keys 0600 and certificates 0644 as PEM, then
// ca.json last. Nothing is written until every key and certificate is made; a failure while
// writing removes what this call wrote. Throws UsageError when the settings are wrong or `dir`
// already holds a lab CA (nothing is touched then), OpenSslError, IoError.
LabCaInit init_lab_ca(const std::filesystem::path& dir, const LabCaSettings& settings);

// LabCa is a lab CA loaded for issuing. Owns its certificates and the issuing key.
struct LabCa {
  std::filesystem::path dir;
  std::string name;
  std::vector<ossl::UniquePtr<X509>> chain;  // the issuing certificate first, the root last
  ossl::UniquePtr<EVP_PKEY> issuer_key;
  std::string cdp_url;  // "" for none
  std::string aia_url;  // "" for none
};

// load_lab_ca reads `dir`/ca.json strictly (unknown or missing fields are errors), the chain it
// names (each certificate issued by the next, the last self-signed) and the issuing key, which
// must match the issuing certificate. Throws UsageError when `dir` holds no ca.json,
// BadFileError naming the file and field for anything wrong in it, IoError.
LabCa load_lab_ca(const std::filesystem::path& dir);

// LeafUsages are the extended key usages and key usages of a leaf, as x509_vocab.hpp names them;
// nullopt copies the request's own requested extension.
struct LeafUsages {
  std::optional<std::vector<std::string>> eku;
  std::optional<std::vector<std::string>> key_usage;
};

// LeafOptions say how issue_leaf fills in what the request does not decide.
struct LeafOptions {
  int days = 365;
  LeafUsages usages;
  std::time_t now = 0;  // 0: the current time
};

// issue_leaf issues the certificate `req` asks for (lab_ca_sign.cpp): the request's subject and
// public key, its subjectAltName copied as it is (and the AD CS template name extension when
// requested), EKU and keyUsage (critical) per `options.usages`, basicConstraints CA:FALSE
// critical, SKID/AKID, the CA's CRL distribution point and caIssuers URL when set, a random
// 128-bit serial, SHA-256, valid from 5 minutes ago for `options.days`. A leaf never gets
// keyCertSign or cRLSign (RFC 5280 4.2.1.3). The request's signature is not checked here.
// Returns the new certificate; throws OpenSslError.
ossl::UniquePtr<X509> issue_leaf(const LabCa& ca, X509_REQ* req, const LeafOptions& options);

// make_root_certificate self-signs a CA certificate for `key` with CN `common_name`
// (lab_ca_sign.cpp). Throws OpenSslError.
ossl::UniquePtr<X509> make_root_certificate(EVP_PKEY* key, const std::string& common_name, int days,
                                            std::time_t now);

// make_intermediate_certificate issues a CA certificate (pathlen:0) for `key` with CN
// `common_name`, signed by `root` and `root_key` (lab_ca_sign.cpp). Throws OpenSslError.
ossl::UniquePtr<X509> make_intermediate_certificate(EVP_PKEY* key, const std::string& common_name,
                                                    X509* root, EVP_PKEY* root_key, int days,
                                                    std::time_t now);

// encode_certificate_pem gives the PEM text ("CERTIFICATE") of `cert`. Throws OpenSslError.
std::string encode_certificate_pem(X509* cert);

// encode_certs_p7b gives a certs-only PKCS#7 SignedData (DER) holding `certs` in order, as
// `openssl crl2pkcs7 -nocrl` and AD CS make it (lab_ca_sign.cpp). Throws OpenSslError.
std::string encode_certs_p7b(const std::vector<X509*>& certs);

// usages_from_spec gives the EKU and key usage the profile of `spec` wants for the request in
// `csr_file`: the spec's only usages when all its certificates share them, else those of the
// certificate the file is named for (<server>[.<certificate>].csr), else of the one whose CN and
// SANs the request carries. Throws UsageError naming the file when it fits no certificate.
LeafUsages usages_from_spec(const PoolSpec& spec, const X509Facts& request,
                            const std::filesystem::path& csr_file);

// SignOptions say where `ca sign` writes and how long leaves are valid.
struct SignOptions {
  std::filesystem::path out_dir;  // empty: each request's own folder
  int days = 365;
  const PoolSpec* spec = nullptr;  // EKU/KU from its profile; nullptr copies the request's
  std::time_t now = 0;             // 0: the current time
};

// IssuedCertificate is one leaf `ca sign` wrote: `<stem>.cer` (PEM leaf) and `<stem>.p7b`
// (DER, the leaf and the chain up to and including the root).
struct IssuedCertificate {
  std::filesystem::path csr;
  std::filesystem::path certificate;
  std::filesystem::path chain;
  X509Facts facts;
};

// sign_requests issues a leaf for each request file (PEM or DER), in order. Every request is
// read and checked, and every output path proven free, before anything is written: a request
// whose self-signature does not verify throws BadFileError naming it; an existing output, two
// requests writing the same output, or a validity beyond the issuing CA's throw UsageError.
// A failure while writing removes what this call wrote. Throws OpenSslError, IoError too.
std::vector<IssuedCertificate> sign_requests(const LabCa& ca,
                                             const std::vector<std::filesystem::path>& csrs,
                                             const SignOptions& options);

}  // namespace poolcert
