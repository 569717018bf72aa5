#include "poolcert/x509/x509_load.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/x509/key.hpp"

namespace poolcert {
namespace {

// Frees what PEM_read_bio allocates for one block.
struct PemBlock {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  ~PemBlock() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
};

// Takes the certificates out of a PKCS#7 SignedData (AD CS's .p7b).
void take_pkcs7_certificates(PKCS7* p7, X509Objects& out, const std::filesystem::path& name) {
  STACK_OF(X509)* certs = nullptr;
  if (PKCS7_type_is_signed(p7) && p7->d.sign != nullptr) certs = p7->d.sign->cert;
  if (PKCS7_type_is_signedAndEnveloped(p7) && p7->d.signed_and_enveloped != nullptr) {
    certs = p7->d.signed_and_enveloped->cert;
  }
  if (certs == nullptr || sk_X509_num(certs) == 0) {
    throw BadFileError(name, "PKCS#7 holds no certificates");
  }
  for (int i = 0; i < sk_X509_num(certs); ++i) {
    X509* cert = sk_X509_value(certs, i);
    if (X509_up_ref(cert) != 1) throw OpenSslError("referencing a PKCS#7 certificate");
    out.certificates.emplace_back(cert);  // the up_ref above is this pointer's reference
  }
}

// Decodes one DER object of a known kind; all of `der` must be used.
template <class T, class Decode>
ossl::UniquePtr<T> decode_exact(const unsigned char* der, long len, Decode decode) {
  const unsigned char* p = der;
  ossl::UniquePtr<T> obj(decode(nullptr, &p, len));
  if (obj && p != der + len) obj.reset();  // trailing bytes: not this kind of object
  return obj;
}

// Decodes a request as d2i_X509_REQ does, in `libctx` (nullptr: the default context).
ossl::UniquePtr<X509_REQ> decode_request(const unsigned char* der, long len, OSSL_LIB_CTX* libctx) {
  return decode_exact<X509_REQ>(der, len, [libctx](X509_REQ**, const unsigned char** p, long n) {
    return reinterpret_cast<X509_REQ*>(
        ASN1_item_d2i_ex(nullptr, p, n, ASN1_ITEM_rptr(X509_REQ), libctx, nullptr));
  });
}

void decode_der(const unsigned char* der, long len, X509Objects& out,
                const std::filesystem::path& name, OSSL_LIB_CTX* request_libctx) {
  if (auto cert = decode_exact<X509>(der, len, d2i_X509)) {
    out.certificates.push_back(std::move(cert));
  } else if (auto req = decode_request(der, len, request_libctx)) {
    out.requests.push_back(std::move(req));
  } else if (auto p7 = decode_exact<PKCS7>(der, len, d2i_PKCS7)) {
    ERR_clear_error();
    take_pkcs7_certificates(p7.get(), out, name);
    out.encoding = "PKCS#7 DER";
    return;
  } else {
    ERR_clear_error();
    throw BadFileError(name, "not a certificate, certificate request or PKCS#7 (PEM or DER)");
  }
  ERR_clear_error();
}

void decode_pem_block(const PemBlock& block, X509Objects& out, const std::filesystem::path& name,
                      OSSL_LIB_CTX* request_libctx) {
  std::string type = block.name;
  if (type.find("PRIVATE KEY") != std::string::npos) {
    throw BadFileError(name, "holds a private key (" + type + "), not a certificate");
  }
  if (type == "CERTIFICATE" || type == "X509 CERTIFICATE" || type == "TRUSTED CERTIFICATE") {
    auto cert = type == "TRUSTED CERTIFICATE"
                    ? decode_exact<X509>(block.data, block.len, d2i_X509_AUX)
                    : decode_exact<X509>(block.data, block.len, d2i_X509);
    if (!cert) throw BadFileError(name, "a " + type + " block that does not decode");
    out.certificates.push_back(std::move(cert));
  } else if (type == "CERTIFICATE REQUEST" || type == "NEW CERTIFICATE REQUEST") {
    auto req = decode_request(block.data, block.len, request_libctx);
    if (!req) throw BadFileError(name, "a " + type + " block that does not decode");
    out.requests.push_back(std::move(req));
  } else if (type == "PKCS7" || type == "PKCS #7 SIGNED DATA" || type == "CMS") {
    auto p7 = decode_exact<PKCS7>(block.data, block.len, d2i_PKCS7);
    if (!p7) throw BadFileError(name, "a " + type + " block that does not decode");
    take_pkcs7_certificates(p7.get(), out, name);
  } else {
    throw BadFileError(name, "holds a '" + type + "' PEM block, not a certificate or request");
  }
  ERR_clear_error();
}

// parse_x509_objects, with requests decoded in `request_libctx`.
X509Objects parse_objects(std::string_view bytes, const std::filesystem::path& name,
                          OSSL_LIB_CTX* request_libctx) {
  X509Objects out;
  if (bytes.empty()) throw BadFileError(name, "empty file");
  if (bytes.find("-----BEGIN ") == std::string_view::npos) {
    out.encoding = "DER";
    decode_der(reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<long>(bytes.size()), out, name, request_libctx);
    return out;
  }
  out.encoding = "PEM";
  ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) throw OpenSslError("allocating a memory BIO");
  // Count the BEGIN lines: each must give a block, so a truncated last block is an error and
  // not a silently shorter chain.
  std::size_t begins = 0;
  for (std::size_t at = bytes.find("-----BEGIN "); at != std::string_view::npos;
       at = bytes.find("-----BEGIN ", at + 1)) {
    ++begins;
  }
  for (std::size_t i = 0; i < begins; ++i) {
    PemBlock block;
    if (PEM_read_bio(bio.get(), &block.name, &block.header, &block.data, &block.len) != 1) {
      ERR_clear_error();
      throw BadFileError(name, "PEM block " + std::to_string(i + 1) +
                                   " is truncated or malformed (bad base64 or no END line)");
    }
    decode_pem_block(block, out, name, request_libctx);
  }
  if (bytes.find("PKCS7") != std::string_view::npos) out.encoding = "PKCS#7 PEM";
  return out;
}

}  // namespace

X509Objects parse_x509_objects(std::string_view bytes, const std::filesystem::path& name) {
  return parse_objects(bytes, name, nullptr);
}

X509Objects load_x509_objects(const std::filesystem::path& file) {
  std::string bytes = read_input_file(file);
  return parse_x509_objects(bytes, file);
}

RequestKeyReader::RequestKeyReader() : libctx_(OSSL_LIB_CTX_new()) {
  // Loading any provider explicitly stops OpenSSL from loading the default one into the context
  // on first use; "null" offers no algorithms, so no key decoder is ever looked for.
  if (libctx_) null_provider_.reset(OSSL_PROVIDER_load(libctx_.get(), "null"));
  if (!libctx_ || !null_provider_) throw OpenSslError("setting up a context to read requests");
}

std::optional<std::string> RequestKeyReader::first_request_spki_sha256(
    const std::filesystem::path& file) const {
  X509Objects objects = parse_objects(read_input_file(file), file, libctx_.get());
  if (objects.requests.empty()) return std::nullopt;
  return spki_sha256(X509_REQ_get_X509_PUBKEY(objects.requests.front().get()));
}

}  // namespace poolcert
