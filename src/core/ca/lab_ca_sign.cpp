// The lab CA's certificates, one OpenSSL phase per function: the body (serial, names, validity,
// key), each extension, the signature, and the encodings (PEM, certs-only PKCS#7).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "poolcert/ca/lab_ca.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/x509/x509_vocab.hpp"

namespace poolcert {
namespace {

constexpr int kSerialBytes = 16;           // 128 random bits (CA/B Forum BR 7.1: at least 64)
constexpr long kBackdateSeconds = 5 * 60;  // tolerates clocks a little behind the CA's
// The AD CS v1 template name a request may carry (1.3.6.1.4.1.311.20.2); AD CS copies it into
// the certificate, and `verify` reports it.
constexpr const char* kTemplateNameOid = "1.3.6.1.4.1.311.20.2";

std::time_t now_or(std::time_t now) {
  return now != 0 ? now : std::time(nullptr);
}

ossl::UniquePtr<ASN1_INTEGER> random_serial() {
  std::array<unsigned char, kSerialBytes> bytes{};
  if (RAND_bytes(bytes.data(), kSerialBytes) != 1) throw OpenSslError("drawing a serial number");
  if (bytes[0] == 0) bytes[0] = 1;  // no leading zero octet: the serial keeps its full length
  // An ASN1_INTEGER holds the magnitude; DER adds a 0x00 octet when the top bit is set, so the
  // serial is positive and at most 17 octets (RFC 5280 4.1.2.2 allows 20).
  ossl::UniquePtr<ASN1_INTEGER> serial(ASN1_INTEGER_new());
  if (!serial || ASN1_STRING_set(serial.get(), bytes.data(), kSerialBytes) != 1) {
    throw OpenSslError("encoding a serial number");
  }
  return serial;
}

// A CA's subject: the CN alone (MBSTRING_UTF8 lets OpenSSL pick PrintableString where it fits).
ossl::UniquePtr<X509_NAME> common_name_only(const std::string& common_name) {
  ossl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    throw OpenSslError("setting CN=" + common_name);
  }
  return name;
}

// The body of a v3 certificate: serial, issuer and subject, validity, public key.
ossl::UniquePtr<X509> new_certificate(const X509_NAME* subject, const X509_NAME* issuer,
                                      EVP_PKEY* public_key, int days, std::time_t now) {
  ossl::UniquePtr<X509> cert(X509_new());
  if (!cert) throw OpenSslError("allocating a certificate");
  ossl::UniquePtr<ASN1_INTEGER> serial = random_serial();
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial.get()) != 1 ||  // copies
      X509_set_subject_name(cert.get(), subject) != 1 ||       // copies
      X509_set_issuer_name(cert.get(), issuer) != 1 ||         // copies
      X509_set_pubkey(cert.get(), public_key) != 1) {          // takes its own reference
    throw OpenSslError("filling in the certificate");
  }
  if (ASN1_TIME_adj(X509_getm_notBefore(cert.get()), now, 0, -kBackdateSeconds) == nullptr ||
      ASN1_TIME_adj(X509_getm_notAfter(cert.get()), now, days, 0) == nullptr) {
    throw OpenSslError("setting the validity");
  }
  return cert;
}

void add_extension(X509* cert, int nid, bool critical, void* value, const char* what) {
  ossl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_i2d(nid, critical ? 1 : 0, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {  // X509_add_ext copies
    throw OpenSslError(std::string("adding the ") + what + " extension");
  }
}

// RFC 5280 4.2.1.9: critical in CA certificates; a leaf says CA:FALSE (critical too, as AD CS's
// WebServer template does). `path_length` < 0 leaves it unlimited.
void add_basic_constraints(X509* cert, bool ca, int path_length) {
  ossl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  if (!bc) throw OpenSslError("allocating basicConstraints");
  bc->ca = ca ? 0xff : 0;  // DER TRUE
  if (ca && path_length >= 0) {
    bc->pathlen = ASN1_INTEGER_new();  // bc owns it
    if (bc->pathlen == nullptr || ASN1_INTEGER_set(bc->pathlen, path_length) != 1) {
      throw OpenSslError("setting the path length");
    }
  }
  add_extension(cert, NID_basic_constraints, true, bc.get(), "basicConstraints");
}

// RFC 5280 4.2.1.3: conforming CAs SHOULD mark keyUsage critical.
void add_key_usage(X509* cert, const std::vector<std::string>& names) {
  if (names.empty()) return;
  ossl::UniquePtr<ASN1_BIT_STRING> bits(ASN1_BIT_STRING_new());
  if (!bits) throw OpenSslError("allocating keyUsage");
  for (const std::string& name : names) {
    if (ASN1_BIT_STRING_set_bit(bits.get(), key_usage_bit(name), 1) != 1) {
      throw OpenSslError("setting key usage " + name);
    }
  }
  add_extension(cert, NID_key_usage, true, bits.get(), "keyUsage");
}

void add_extended_key_usage(X509* cert, const std::vector<std::string>& names) {
  if (names.empty()) return;
  ossl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
  if (!eku) throw OpenSslError("allocating extendedKeyUsage");
  for (const std::string& name : names) {
    ASN1_OBJECT* oid = OBJ_nid2obj(eku_nid(name));  // a static object: nothing to free
    if (oid == nullptr || sk_ASN1_OBJECT_push(eku.get(), oid) == 0) {
      throw OpenSslError("adding EKU " + name);
    }
  }
  add_extension(cert, NID_ext_key_usage, false, eku.get(), "extendedKeyUsage");
}

// RFC 5280 4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING. The authority key
// identifier (4.2.1.1) repeats the issuer's; a self-signed root may omit it, and does.
void add_key_identifiers(X509* cert, X509* issuer) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  ossl::UniquePtr<ASN1_OCTET_STRING> skid(ASN1_OCTET_STRING_new());
  if (!skid || X509_pubkey_digest(cert, EVP_sha1(), md.data(), &len) != 1 ||
      ASN1_OCTET_STRING_set(skid.get(), md.data(), static_cast<int>(len)) != 1) {
    throw OpenSslError("computing the subject key identifier");
  }
  add_extension(cert, NID_subject_key_identifier, false, skid.get(), "subjectKeyIdentifier");
  if (issuer == nullptr) return;
  ossl::UniquePtr<ASN1_OCTET_STRING> issuer_skid(static_cast<ASN1_OCTET_STRING*>(
      X509_get_ext_d2i(issuer, NID_subject_key_identifier, nullptr, nullptr)));
  ERR_clear_error();
  if (!issuer_skid) return;  // an issuer without a key identifier: chains build by name alone
  ossl::UniquePtr<AUTHORITY_KEYID> akid(AUTHORITY_KEYID_new());
  if (!akid) throw OpenSslError("allocating authorityKeyIdentifier");
  akid->keyid = issuer_skid.release();  // akid owns it now
  add_extension(cert, NID_authority_key_identifier, false, akid.get(), "authorityKeyIdentifier");
}

ossl::UniquePtr<GENERAL_NAME> uri_name(const std::string& url) {
  ossl::UniquePtr<ASN1_IA5STRING> ia5(ASN1_IA5STRING_new());
  ossl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (!ia5 || !name || ASN1_STRING_set(ia5.get(), url.data(), static_cast<int>(url.size())) != 1) {
    throw OpenSslError("encoding URI " + url);
  }
  GENERAL_NAME_set0_value(name.get(), GEN_URI, ia5.release());  // name owns the string now
  return name;
}

// RFC 5280 4.2.1.13: one distribution point whose fullName is the URI. DOMAIN.md: every server
// certificate must carry one, and an HTTP one reaches clients outside the domain.
void add_crl_distribution_point(X509* cert, const std::string& url) {
  ossl::UniquePtr<CRL_DIST_POINTS> points(CRL_DIST_POINTS_new());
  ossl::UniquePtr<DIST_POINT> point(DIST_POINT_new());
  ossl::UniquePtr<GENERAL_NAMES> names(GENERAL_NAMES_new());
  if (!points || !point || !names) throw OpenSslError("allocating cRLDistributionPoints");
  point->distpoint = DIST_POINT_NAME_new();  // point owns it
  if (point->distpoint == nullptr) throw OpenSslError("allocating a distribution point name");
  ossl::UniquePtr<GENERAL_NAME> uri = uri_name(url);
  if (sk_GENERAL_NAME_push(names.get(), uri.get()) == 0) throw OpenSslError("adding the CRL URI");
  uri.release();                                      // owned by names now
  point->distpoint->type = 0;                         // fullName
  point->distpoint->name.fullname = names.release();  // owned by the distribution point now
  if (sk_DIST_POINT_push(points.get(), point.get()) == 0)
    throw OpenSslError("adding the distribution point");
  point.release();  // owned by points now
  add_extension(cert, NID_crl_distribution_points, false, points.get(), "cRLDistributionPoints");
}

// RFC 5280 4.2.2.1: caIssuers tells a client where to fetch the issuer's certificate.
void add_ca_issuers(X509* cert, const std::string& url) {
  ossl::UniquePtr<AUTHORITY_INFO_ACCESS> info(AUTHORITY_INFO_ACCESS_new());
  ossl::UniquePtr<ACCESS_DESCRIPTION> access(ACCESS_DESCRIPTION_new());
  if (!info || !access) throw OpenSslError("allocating authorityInfoAccess");
  ASN1_OBJECT_free(access->method);
  access->method = OBJ_nid2obj(NID_ad_ca_issuers);  // a static object
  GENERAL_NAME_free(access->location);
  access->location = uri_name(url).release();  // owned by access now
  if (sk_ACCESS_DESCRIPTION_push(info.get(), access.get()) == 0)
    throw OpenSslError("adding caIssuers");
  access.release();  // owned by info now
  add_extension(cert, NID_info_access, false, info.get(), "authorityInfoAccess");
}

void sign_sha256(X509* cert, EVP_PKEY* key) {
  // PKCS#1 v1.5 for RSA: DOMAIN.md, RSASSA-PSS gives sign-in errors.
  if (X509_sign(cert, key, EVP_sha256()) <= 0) throw OpenSslError("signing the certificate");
}

// Copies a requested extension into the certificate unchanged (criticality too).
void copy_request_extension(X509* cert, const STACK_OF(X509_EXTENSION) * requested,
                            const ASN1_OBJECT* oid) {
  int at = X509v3_get_ext_by_OBJ(requested, oid, -1);
  if (at < 0) return;
  if (X509_add_ext(cert, X509v3_get_ext(requested, at), -1) != 1) {  // copies
    throw OpenSslError("copying a requested extension");
  }
}

// The key usages a request asks for.
std::vector<std::string> requested_key_usage(const STACK_OF(X509_EXTENSION) * requested) {
  ossl::UniquePtr<ASN1_BIT_STRING> bits(
      static_cast<ASN1_BIT_STRING*>(X509V3_get_d2i(requested, NID_key_usage, nullptr, nullptr)));
  ERR_clear_error();
  std::vector<std::string> names;
  if (!bits) return names;
  for (int bit = 0; bit < 9; ++bit) {
    if (ASN1_BIT_STRING_get_bit(bits.get(), bit) == 0) continue;
    for (const std::string& name : key_usage_names(1UL << bit)) names.push_back(name);
  }
  return names;
}

void add_leaf_usages(X509* cert, const STACK_OF(X509_EXTENSION) * requested,
                     const LeafUsages& usages) {
  if (usages.eku) {
    add_extended_key_usage(cert, *usages.eku);
  } else {
    copy_request_extension(cert, requested, OBJ_nid2obj(NID_ext_key_usage));
  }
  std::vector<std::string> key_usage =
      usages.key_usage ? *usages.key_usage : requested_key_usage(requested);
  // RFC 5280 4.2.1.3: keyCertSign only with cA TRUE; cRLSign is for CRL issuers.
  std::erase_if(key_usage,
                [](const std::string& n) { return n == "keyCertSign" || n == "cRLSign"; });
  add_key_usage(cert, key_usage);
}

}  // namespace

ossl::UniquePtr<X509> make_root_certificate(EVP_PKEY* key, const std::string& common_name, int days,
                                            std::time_t now) {
  ossl::UniquePtr<X509_NAME> name = common_name_only(common_name);
  ossl::UniquePtr<X509> cert = new_certificate(name.get(), name.get(), key, days, now_or(now));
  add_basic_constraints(cert.get(), true, -1);
  add_key_usage(cert.get(), {"keyCertSign", "cRLSign"});
  add_key_identifiers(cert.get(), nullptr);
  sign_sha256(cert.get(), key);
  return cert;
}

ossl::UniquePtr<X509> make_intermediate_certificate(EVP_PKEY* key, const std::string& common_name,
                                                    X509* root, EVP_PKEY* root_key, int days,
                                                    std::time_t now) {
  ossl::UniquePtr<X509_NAME> name = common_name_only(common_name);
  ossl::UniquePtr<X509> cert =
      new_certificate(name.get(), X509_get_subject_name(root), key, days, now_or(now));
  add_basic_constraints(cert.get(), true, 0);  // issues leaves only
  add_key_usage(cert.get(), {"keyCertSign", "cRLSign"});
  add_key_identifiers(cert.get(), root);
  sign_sha256(cert.get(), root_key);
  return cert;
}

ossl::UniquePtr<X509> issue_leaf(const LabCa& ca, X509_REQ* req, const LeafOptions& options) {
  X509* issuer = ca.chain.front().get();
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req);
  if (public_key == nullptr)
    throw OpenSslError("reading the request's public key", ErrorKind::kBadInput);
  ossl::UniquePtr<X509> cert =
      new_certificate(X509_REQ_get_subject_name(req), X509_get_subject_name(issuer), public_key,
                      options.days, now_or(options.now));
  ossl::UniquePtr<STACK_OF(X509_EXTENSION)> requested(X509_REQ_get_extensions(req));
  ERR_clear_error();
  if (!requested) {
    requested.reset(sk_X509_EXTENSION_new_null());
    if (!requested) throw OpenSslError("allocating extensions");
  }
  copy_request_extension(cert.get(), requested.get(), OBJ_nid2obj(NID_subject_alt_name));
  add_leaf_usages(cert.get(), requested.get(), options.usages);
  add_basic_constraints(cert.get(), false, -1);
  add_key_identifiers(cert.get(), issuer);
  if (!ca.cdp_url.empty()) add_crl_distribution_point(cert.get(), ca.cdp_url);
  if (!ca.aia_url.empty()) add_ca_issuers(cert.get(), ca.aia_url);
  ossl::UniquePtr<ASN1_OBJECT> template_oid(OBJ_txt2obj(kTemplateNameOid, 1));
  if (!template_oid) throw OpenSslError("parsing the template name OID");
  copy_request_extension(cert.get(), requested.get(), template_oid.get());
  sign_sha256(cert.get(), ca.issuer_key.get());
  return cert;
}

std::string encode_certificate_pem(X509* cert) {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    throw OpenSslError("encoding the certificate");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string encode_certs_p7b(const std::vector<X509*>& certs) {
  ossl::UniquePtr<PKCS7> p7(PKCS7_new());
  // SignedData with no signers and absent (detached) data content: only the certificates.
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1 || PKCS7_set_detached(p7.get(), 1) != 1) {
    throw OpenSslError("making the PKCS#7");
  }
  for (X509* cert : certs) {
    if (PKCS7_add_certificate(p7.get(), cert) != 1)  // takes its own reference
      throw OpenSslError("adding a certificate to the PKCS#7");
  }
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || i2d_PKCS7_bio(bio.get(), p7.get()) != 1) throw OpenSslError("encoding the PKCS#7");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace poolcert
