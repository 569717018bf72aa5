#include "poolcert/x509/key.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <array>
#include <cctype>
#include <iterator>

#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"

namespace poolcert {
namespace {

// What a passphrase callback was given and whether OpenSSL asked for it.
struct PassphraseRequest {
  const std::optional<std::string>* passphrase;
  bool asked = false;
};

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* req = static_cast<PassphraseRequest*>(u);
  req->asked = true;
  if (!req->passphrase->has_value()) return -1;  // no passphrase: fail instead of prompting
  const std::string& p = **req->passphrase;
  if (p.size() > static_cast<std::size_t>(size)) return -1;
  std::copy(p.begin(), p.end(), buf);
  return static_cast<int>(p.size());
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

ossl::UniquePtr<EVP_PKEY> generate_key(const KeySpec& spec) {
  EVP_PKEY* raw = spec.type == KeyType::kRsa
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.bits))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.curve.c_str());
  ossl::UniquePtr<EVP_PKEY> key(raw);
  if (!key) throw OpenSslError("generating an " + describe_key(spec) + " key");
  return key;
}

std::string encode_private_key(EVP_PKEY* key, const std::optional<std::string>& passphrase) {
  ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio) throw OpenSslError("allocating a memory BIO");
  int ok = 0;
  if (passphrase) {
    // PKCS#8 PBES2: AES-256-CBC with PBKDF2 (OpenSSL 3's default PRF is HMAC-SHA256).
    ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase->data(),
                                       static_cast<int>(passphrase->size()), nullptr, nullptr);
  } else {
    ok = PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  if (ok != 1) throw OpenSslError("encoding the private key");
  return bio_contents(bio.get());
}

ossl::UniquePtr<EVP_PKEY> parse_private_key(std::string_view pem, const std::filesystem::path& file,
                                            const std::optional<std::string>& passphrase) {
  ossl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw OpenSslError("allocating a memory BIO");
  PassphraseRequest req{&passphrase};
  ossl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &req));
  ERR_clear_error();
  if (!key) {
    if (req.asked && !passphrase) {
      throw BadFileError(file,
                         "the key is encrypted: give its passphrase with --passphrase-file or "
                         "--passphrase-env");
    }
    if (req.asked) throw BadFileError(file, "cannot decrypt the key: wrong passphrase?");
    throw BadFileError(file, "not a PEM private key");
  }
  return key;
}

ossl::UniquePtr<EVP_PKEY> read_private_key(const std::filesystem::path& file,
                                           const std::optional<std::string>& passphrase) {
  std::string pem = read_input_file(file);
  try {
    ossl::UniquePtr<EVP_PKEY> key = parse_private_key(pem, file, passphrase);
    OPENSSL_cleanse(pem.data(), pem.size());
    return key;
  } catch (...) {
    OPENSSL_cleanse(pem.data(), pem.size());
    throw;
  }
}

KeyFacts key_facts(const EVP_PKEY* key) {
  KeyFacts f;
  if (key == nullptr) return f;
  if (EVP_PKEY_is_a(key, "RSA")) {
    f.type = "rsa";
  } else if (EVP_PKEY_is_a(key, "RSA-PSS")) {
    f.type = "rsassa-pss";
  } else if (EVP_PKEY_is_a(key, "EC")) {
    f.type = "ecdsa";
    std::array<char, 64> group{};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                       &len) == 1) {
      std::string g(group.data(), len);
      f.curve = g == "prime256v1"  ? "P-256"
                : g == "secp384r1" ? "P-384"
                : g == "secp521r1" ? "P-521"
                                   : g;
    }
  } else {
    const char* name = EVP_PKEY_get0_type_name(key);
    f.type = name != nullptr ? name : "unknown";
    for (char& c : f.type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  f.bits = EVP_PKEY_get_bits(key);
  return f;
}

bool matches_spec(const KeyFacts& facts, const KeySpec& spec) {
  if (spec.type == KeyType::kRsa) return facts.type == "rsa" && facts.bits == spec.bits;
  return facts.type == "ecdsa" && facts.curve == spec.curve;
}

std::string describe_facts(const KeyFacts& facts) {
  if (facts.type == "rsa") return "RSA " + std::to_string(facts.bits);
  if (facts.type == "ecdsa") return "ECDSA " + facts.curve;
  if (facts.type == "unreadable") return "a public key OpenSSL cannot read";
  return facts.bits > 0 ? facts.type + " " + std::to_string(facts.bits) : facts.type;
}

namespace {

// Hashes DER that an i2d_* call allocated, and frees it.
std::string hex_sha256_of_owned(unsigned char* der, int len) {
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(
      der, [](unsigned char* p) { OPENSSL_free(p); });
  if (len <= 0) throw OpenSslError("encoding the public key");
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (EVP_Digest(der, static_cast<size_t>(len), md.data(), &md_len, EVP_sha256(), nullptr) != 1) {
    throw OpenSslError("hashing the public key");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < md_len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

}  // namespace

std::string spki_sha256(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  return hex_sha256_of_owned(der, len);
}

std::string spki_sha256(const X509_PUBKEY* spki) {
  // The decoded structure re-encodes without OpenSSL 3's encoder set-up, which dominates the
  // EVP_PKEY route in a batch (callgrind, docs/performance.md).
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(spki, &der);
  return hex_sha256_of_owned(der, len);
}

bool pem_is_encrypted_key(std::string_view pem) {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

bool file_is_encrypted_key(const std::filesystem::path& file) {
  std::string text;
  try {
    text = read_input_file(file, 1 << 20);  // a regular file only: a FIFO there must not hang
  } catch (const Error&) {
    return false;
  }
  bool encrypted = pem_is_encrypted_key(text);
  OPENSSL_cleanse(text.data(), text.size());
  return encrypted;
}

}  // namespace poolcert
