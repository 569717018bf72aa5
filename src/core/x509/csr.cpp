#include "poolcert/x509/csr.hpp"

#include <openssl/pem.h>

#include "poolcert/model/error.hpp"
#include "poolcert/x509/x509_vocab.hpp"

namespace poolcert {
namespace {

using ExtensionStack = ossl::UniquePtr<STACK_OF(X509_EXTENSION)>;

ossl::UniquePtr<X509_NAME> make_subject(const CertificatePlan& plan) {
  ossl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name) throw OpenSslError("allocating the subject");
  for (const auto& [attr, value] : plan.subject) {
    // MBSTRING_UTF8 lets OpenSSL choose PrintableString where it fits (RFC 5280 4.1.2.4).
    if (X509_NAME_add_entry_by_txt(name.get(), attr.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      throw OpenSslError("setting subject " + attr + "=" + value);
    }
  }
  return name;
}

// Encodes `value` as extension `nid` and appends it to `exts`.
void push_extension(STACK_OF(X509_EXTENSION) * exts, int nid, bool critical, void* value,
                    const char* what) {
  ossl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_i2d(nid, critical ? 1 : 0, value));
  if (!ext) throw OpenSslError(std::string("encoding the ") + what + " extension");
  if (sk_X509_EXTENSION_push(exts, ext.get()) == 0) throw OpenSslError("adding an extension");
  ext.release();  // owned by the stack now
}

void add_subject_alt_name(STACK_OF(X509_EXTENSION) * exts, const CertificatePlan& plan) {
  // RFC 5280 4.2.1.6: a subjectAltName holds at least one name; a plan without SAN (Edge
  // internal, OAuthTokenIssuer) asks for none.
  if (plan.sans.empty()) return;
  ossl::UniquePtr<GENERAL_NAMES> names(GENERAL_NAMES_new());
  if (!names) throw OpenSslError("allocating subjectAltName");
  for (const DerivedName& san : plan.sans) {
    ossl::UniquePtr<ASN1_IA5STRING> ia5(ASN1_IA5STRING_new());
    if (!ia5 ||
        ASN1_STRING_set(ia5.get(), san.name.data(), static_cast<int>(san.name.size())) != 1) {
      throw OpenSslError("encoding SAN " + san.name);
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr) throw OpenSslError("allocating a SAN");
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5.release());  // gn owns the string now
    if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      throw OpenSslError("adding SAN " + san.name);
    }
  }
  push_extension(exts, NID_subject_alt_name, false, names.get(), "subjectAltName");
}

void add_extended_key_usage(STACK_OF(X509_EXTENSION) * exts, const CertificatePlan& plan) {
  if (plan.eku.empty()) return;
  ossl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
  if (!eku) throw OpenSslError("allocating extendedKeyUsage");
  for (const std::string& name : plan.eku) {
    ASN1_OBJECT* oid = OBJ_nid2obj(eku_nid(name));  // a static object: nothing to free
    if (oid == nullptr || sk_ASN1_OBJECT_push(eku.get(), oid) == 0) {
      throw OpenSslError("adding EKU " + name);
    }
  }
  push_extension(exts, NID_ext_key_usage, false, eku.get(), "extendedKeyUsage");
}

void add_key_usage(STACK_OF(X509_EXTENSION) * exts, const CertificatePlan& plan) {
  if (plan.key_usage.empty()) return;
  ossl::UniquePtr<ASN1_BIT_STRING> bits(ASN1_BIT_STRING_new());
  if (!bits) throw OpenSslError("allocating keyUsage");
  for (const std::string& name : plan.key_usage) {
    if (ASN1_BIT_STRING_set_bit(bits.get(), key_usage_bit(name), 1) != 1) {
      throw OpenSslError("setting key usage " + name);
    }
  }
  // RFC 5280 4.2.1.3: conforming CAs SHOULD mark keyUsage critical.
  push_extension(exts, NID_key_usage, true, bits.get(), "keyUsage");
}

// Microsoft's certificate template name extension (szOID_ENROLL_CERTTYPE_EXTENSION): a BMPString
// that tells an enterprise CA (AD CS) which template to issue from.
constexpr const char* kTemplateNameOid = "1.3.6.1.4.1.311.20.2";

void add_template_name(STACK_OF(X509_EXTENSION) * exts, const CertificatePlan& plan) {
  if (plan.template_name.empty()) return;
  ossl::UniquePtr<ASN1_STRING> bmp(ASN1_STRING_type_new(V_ASN1_BMPSTRING));
  std::string utf16;  // template names are ASCII (template_name_problem): UTF-16BE is 0, c
  for (char c : plan.template_name) {
    utf16 += '\0';
    utf16 += c;
  }
  if (!bmp || ASN1_STRING_set(bmp.get(), utf16.data(), static_cast<int>(utf16.size())) != 1) {
    throw OpenSslError("encoding the template name");
  }
  unsigned char* der = nullptr;
  int len = i2d_ASN1_BMPSTRING(bmp.get(), &der);
  if (len <= 0) throw OpenSslError("encoding the template name");
  ossl::UniquePtr<ASN1_STRING> octets(ASN1_OCTET_STRING_new());
  int ok = octets ? ASN1_OCTET_STRING_set(octets.get(), der, len) : 0;
  OPENSSL_free(der);
  ossl::UniquePtr<ASN1_OBJECT> oid(OBJ_txt2obj(kTemplateNameOid, 1));
  if (ok != 1 || !oid) throw OpenSslError("encoding the template name");
  ossl::UniquePtr<X509_EXTENSION> ext(
      X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, octets.get()));  // copies both
  if (!ext || sk_X509_EXTENSION_push(exts, ext.get()) == 0) {
    throw OpenSslError("adding the template name extension");
  }
  ext.release();  // owned by the stack now
}

const EVP_MD* digest_of(const std::string& name) {
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (md == nullptr) throw OpenSslError("looking up digest " + name);
  return md;
}

}  // namespace

ossl::UniquePtr<X509_REQ> build_csr(const CertificatePlan& plan, EVP_PKEY* key) {
  ossl::UniquePtr<X509_REQ> req(X509_REQ_new());
  if (!req) throw OpenSslError("allocating the request");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    throw OpenSslError("setting the request version");
  }
  ossl::UniquePtr<X509_NAME> subject = make_subject(plan);
  if (X509_REQ_set_subject_name(req.get(), subject.get()) != 1) {  // copies
    throw OpenSslError("setting the subject");
  }
  if (X509_REQ_set_pubkey(req.get(), key) != 1) throw OpenSslError("setting the public key");

  ExtensionStack exts(sk_X509_EXTENSION_new_null());
  if (!exts) throw OpenSslError("allocating extensions");
  add_subject_alt_name(exts.get(), plan);
  add_extended_key_usage(exts.get(), plan);
  add_key_usage(exts.get(), plan);
  add_template_name(exts.get(), plan);
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {  // copies into extensionRequest
    throw OpenSslError("adding the extension request");
  }
  if (X509_REQ_sign(req.get(), key, digest_of(plan.digest)) <= 0) {
    throw OpenSslError("signing the request");
  }
  return req;
}

std::string encode_csr_pem(X509_REQ* req) {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req) != 1) {
    throw OpenSslError("encoding the request");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace poolcert
