// Owning smart pointers for OpenSSL objects: one stateless deleter specialised once per type, the
// way BoringSSL's include/openssl/base.h does it. No raw owning pointers anywhere else.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace poolcert::ossl {

// Deleter<T> frees a T with its OpenSSL free function; specialised by POOLCERT_MAKE_DELETER.
template <class T>
struct Deleter;

#define POOLCERT_MAKE_DELETER(type, free_fn)       \
  template <>                                      \
  struct Deleter<type> {                           \
    void operator()(type* p) const { free_fn(p); } \
  }

POOLCERT_MAKE_DELETER(EVP_PKEY, EVP_PKEY_free);
POOLCERT_MAKE_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
POOLCERT_MAKE_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
POOLCERT_MAKE_DELETER(OSSL_LIB_CTX, OSSL_LIB_CTX_free);
POOLCERT_MAKE_DELETER(OSSL_PROVIDER, OSSL_PROVIDER_unload);
POOLCERT_MAKE_DELETER(X509, X509_free);
POOLCERT_MAKE_DELETER(X509_REQ, X509_REQ_free);
POOLCERT_MAKE_DELETER(X509_NAME, X509_NAME_free);
POOLCERT_MAKE_DELETER(X509_EXTENSION, X509_EXTENSION_free);
POOLCERT_MAKE_DELETER(X509_STORE, X509_STORE_free);
POOLCERT_MAKE_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
POOLCERT_MAKE_DELETER(X509_OBJECT, X509_OBJECT_free);
POOLCERT_MAKE_DELETER(BIO, BIO_free_all);
POOLCERT_MAKE_DELETER(PKCS7, PKCS7_free);
POOLCERT_MAKE_DELETER(PKCS12, PKCS12_free);
POOLCERT_MAKE_DELETER(SSL_CTX, SSL_CTX_free);
POOLCERT_MAKE_DELETER(SSL, SSL_free);
POOLCERT_MAKE_DELETER(GENERAL_NAMES, GENERAL_NAMES_free);
POOLCERT_MAKE_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free);
// ASN1_STRING also covers ASN1_BIT_STRING and ASN1_IA5STRING, which are typedefs of it.
POOLCERT_MAKE_DELETER(ASN1_STRING, ASN1_STRING_free);
POOLCERT_MAKE_DELETER(BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free);
POOLCERT_MAKE_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
POOLCERT_MAKE_DELETER(GENERAL_NAME, GENERAL_NAME_free);
POOLCERT_MAKE_DELETER(AUTHORITY_KEYID, AUTHORITY_KEYID_free);
POOLCERT_MAKE_DELETER(DIST_POINT, DIST_POINT_free);
POOLCERT_MAKE_DELETER(ACCESS_DESCRIPTION, ACCESS_DESCRIPTION_free);
// These two are stacks whose ASN.1 free functions free their elements too.
POOLCERT_MAKE_DELETER(CRL_DIST_POINTS, CRL_DIST_POINTS_free);
POOLCERT_MAKE_DELETER(AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free);

// Stacks free their elements too (sk_*_pop_free).
template <>
struct Deleter<STACK_OF(X509)> {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
template <>
struct Deleter<STACK_OF(X509_EXTENSION)> {
  void operator()(STACK_OF(X509_EXTENSION) * p) const {
    sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
  }
};

#undef POOLCERT_MAKE_DELETER

template <class T>
using UniquePtr = std::unique_ptr<T, Deleter<T>>;

}  // namespace poolcert::ossl
