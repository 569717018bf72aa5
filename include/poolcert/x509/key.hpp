// Private keys: generation (OpenSSL 3 EVP only), PEM encoding (PKCS#8, optionally AES-256
// encrypted), reading back, and describing a key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "poolcert/model/spec.hpp"
#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// generate_key makes a fresh key as `spec` says (RSA bits, or ECDSA curve). Throws OpenSslError.
ossl::UniquePtr<EVP_PKEY> generate_key(const KeySpec& spec);

// encode_private_key gives the PKCS#8 PEM of `key`; with a passphrase, encrypted (PBES2,
// AES-256-CBC, PBKDF2). Throws OpenSslError.
std::string encode_private_key(EVP_PKEY* key, const std::optional<std::string>& passphrase);

// read_private_key reads a PEM private key file (PKCS#8, encrypted PKCS#8 or traditional).
// Throws BadFileError when it is not a key, is encrypted and no passphrase was given, or the
// passphrase is wrong; IoError when it cannot be read.
ossl::UniquePtr<EVP_PKEY> read_private_key(const std::filesystem::path& file,
                                           const std::optional<std::string>& passphrase);

// parse_private_key is read_private_key on the PEM text of a key already read (`file` names it
// in messages). Throws BadFileError.
ossl::UniquePtr<EVP_PKEY> parse_private_key(std::string_view pem, const std::filesystem::path& file,
                                            const std::optional<std::string>& passphrase);

// KeyFacts describes a key: "rsa" with its modulus bits, or "ecdsa" with its curve.
struct KeyFacts {
  std::string type;  // "rsa", "ecdsa", "rsassa-pss", "ed25519", ... (lower-case)
  int bits = 0;
  std::string curve;  // "P-256", "P-384", ... for EC keys
};

// key_facts describes a public or private key. Never throws.
KeyFacts key_facts(const EVP_PKEY* key);

// matches_spec tells whether `facts` is the key `spec` asks for.
bool matches_spec(const KeyFacts& facts, const KeySpec& spec);

// describe_facts: "RSA 2048", "ECDSA P-256".
std::string describe_facts(const KeyFacts& facts);

// spki_sha256 is the lower-case hex SHA-256 of the DER SubjectPublicKeyInfo, the public key's
// fingerprint that pairs a key, its CSR and its certificate. Throws OpenSslError.
std::string spki_sha256(const EVP_PKEY* key);

// The same fingerprint from a decoded certificate's or request's SubjectPublicKeyInfo.
std::string spki_sha256(const X509_PUBKEY* spki);

// file_is_encrypted_key tells whether a PEM file holds an ENCRYPTED PRIVATE KEY block (or a
// traditional key with a Proc-Type: 4,ENCRYPTED header). Never throws; false when unreadable.
bool file_is_encrypted_key(const std::filesystem::path& file);
// pem_is_encrypted_key is the same test on PEM text.
bool pem_is_encrypted_key(std::string_view pem);

}  // namespace poolcert
