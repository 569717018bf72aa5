#include "poolcert/x509/pkcs12.hpp"

#include "poolcert/model/error.hpp"

namespace poolcert {
namespace {

constexpr int kIterations = 2048;  // PKCS12_DEFAULT_ITER, which Windows imports quickly

}  // namespace

std::string build_pkcs12(EVP_PKEY* key, X509* leaf, const std::vector<X509*>& chain,
                         const std::string& passphrase, const Pkcs12Options& options) {
  ossl::UniquePtr<STACK_OF(X509)> ca(sk_X509_new_null());
  if (!ca) throw OpenSslError("allocating the chain");
  for (X509* c : chain) {
    if (sk_X509_push(ca.get(), c) == 0) throw OpenSslError("adding a chain certificate");
    X509_up_ref(c);  // the stack's own reference
  }
  int pbe = options.legacy ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : NID_aes_256_cbc;
  const EVP_MD* mac = options.legacy ? EVP_sha1() : EVP_sha256();
  // mac_iter -1: no MAC from PKCS12_create; it is set below with an explicit digest.
  ossl::UniquePtr<PKCS12> p12(PKCS12_create(passphrase.c_str(), options.friendly_name.c_str(), key,
                                            leaf, ca.get(), pbe, pbe, kIterations, -1, 0));
  if (!p12) throw OpenSslError("building the PKCS#12");
  if (PKCS12_set_mac(p12.get(), passphrase.c_str(), -1, nullptr, 0, kIterations, mac) != 1) {
    throw OpenSslError("setting the PKCS#12 MAC");
  }
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  if (len <= 0) throw OpenSslError("encoding the PKCS#12");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace poolcert
