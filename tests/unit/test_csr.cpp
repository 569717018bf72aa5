#include <doctest/doctest.h>

#include <openssl/pem.h>

#include "poolcert/model/error.hpp"
#include "poolcert/x509/csr.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/key.hpp"
#include "poolcert/x509/x509_load.hpp"
#include "temp_dir.hpp"

using namespace poolcert;

namespace {

CertificatePlan reference_plan(KeySpec key) {
  CertificatePlan plan;
  plan.server_fqdn = "ocssrv01.company.local";
  plan.common_name = "ocspool.company.local";
  plan.subject = {{"O", "Company"}, {"CN", "ocspool.company.local"}};
  for (const char* n : {"ocspool.company.local", "sip.company.local", "sip.company.com",
                        "ocspool.company.com", "ocssrv01.company.local"}) {
    plan.sans.push_back({n, "test"});
  }
  plan.eku = {"serverAuth", "clientAuth"};
  plan.key_usage = {"digitalSignature", "keyEncipherment"};
  plan.key = key;
  plan.digest = "sha256";
  return plan;
}

}  // namespace

TEST_CASE("an RSA CSR carries the plan and a valid self-signature") {
  KeySpec rsa;
  auto key = generate_key(rsa);
  auto req = build_csr(reference_plan(rsa), key.get());
  // Round trip through PEM, as a CA would receive it.
  X509Objects objects = parse_x509_objects(encode_csr_pem(req.get()), "test.csr");
  REQUIRE(objects.requests.size() == 1);
  X509Facts f = request_facts(objects.requests[0].get());
  CHECK(f.signature_valid == true);
  CHECK(join_name(f.subject) == "O=Company, CN=ocspool.company.local");
  CHECK(f.dns_sans == std::vector<std::string>{"ocspool.company.local", "sip.company.local",
                                               "sip.company.com", "ocspool.company.com",
                                               "ocssrv01.company.local"});
  CHECK(f.eku == std::vector<std::string>{"serverAuth", "clientAuth"});
  CHECK(f.key_usage == std::vector<std::string>{"digitalSignature", "keyEncipherment"});
  CHECK(f.key.type == "rsa");
  CHECK(f.key.bits == 2048);
  CHECK(f.signature_algorithm == "sha256WithRSAEncryption");
  CHECK(f.spki_sha256 == spki_sha256(key.get()));
  CHECK(f.spki_sha256.size() == 64);
}

TEST_CASE("an ECDSA P-384 CSR is signed with the plan's digest") {
  KeySpec ec{KeyType::kEcdsa, 384, "P-384", false};
  auto key = generate_key(ec);
  CHECK(key_facts(key.get()).curve == "P-384");
  CertificatePlan plan = reference_plan(ec);
  plan.digest = "sha384";
  auto req = build_csr(plan, key.get());
  X509Facts f = request_facts(req.get());
  CHECK(f.signature_valid == true);
  CHECK(f.signature_algorithm == "ecdsa-with-SHA384");
  CHECK(f.key.type == "ecdsa");
}

TEST_CASE("a tampered CSR no longer verifies") {
  KeySpec ec{KeyType::kEcdsa, 256, "P-256", false};
  auto key = generate_key(ec);
  auto req = build_csr(reference_plan(ec), key.get());
  auto other = generate_key(ec);
  REQUIRE(X509_REQ_set_pubkey(req.get(), other.get()) == 1);  // signature no longer matches
  CHECK(request_facts(req.get()).signature_valid == false);
}

TEST_CASE("an encrypted key reads back only with its passphrase") {
  KeySpec ec{KeyType::kEcdsa, 256, "P-256", true};
  auto key = generate_key(ec);
  std::string pem = encode_private_key(key.get(), std::string("correct horse"));
  CHECK(pem.find("BEGIN ENCRYPTED PRIVATE KEY") != std::string::npos);
  CHECK(encode_private_key(key.get(), std::nullopt).find("BEGIN PRIVATE KEY") != std::string::npos);
}

TEST_CASE("RequestKeyReader gives the fingerprint the loader gives, and refuses what it refuses") {
  test::TempDir dir;
  RequestKeyReader reader;
  for (const KeySpec& spec : {KeySpec{}, KeySpec{KeyType::kEcdsa, 256, "P-256", false}}) {
    auto key = generate_key(spec);
    auto req = build_csr(reference_plan(spec), key.get());
    auto pem = dir.write("pem.csr", encode_csr_pem(req.get()));
    CHECK(reader.first_request_spki_sha256(pem) == spki_sha256(key.get()));
    CHECK(reader.first_request_spki_sha256(pem) ==
          spki_sha256(X509_REQ_get_X509_PUBKEY(load_x509_objects(pem).requests.at(0).get())));
    unsigned char* der = nullptr;
    int len = i2d_X509_REQ(req.get(), &der);
    REQUIRE(len > 0);
    auto der_file = dir.write("der.csr", std::string(reinterpret_cast<char*>(der), len));
    OPENSSL_free(der);
    CHECK(reader.first_request_spki_sha256(der_file) == spki_sha256(key.get()));
  }
  auto key = generate_key(KeySpec{KeyType::kEcdsa, 256, "P-256", false});
  auto not_a_request = dir.write("key.csr", encode_private_key(key.get(), std::nullopt));
  std::string refused;
  try {
    load_x509_objects(not_a_request);
  } catch (const BadFileError& e) {
    refused = e.what();
  }
  REQUIRE(!refused.empty());
  CHECK_THROWS_WITH_AS(reader.first_request_spki_sha256(not_a_request), refused.c_str(),
                       BadFileError);
}
