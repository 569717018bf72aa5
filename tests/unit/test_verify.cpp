#include <doctest/doctest.h>

#include <openssl/x509_vfy.h>

#include <fstream>
#include <iterator>

#include "poolcert/ca/lab_ca.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/verify/verify.hpp"
#include "poolcert/x509/csr.hpp"
#include "poolcert/x509/key.hpp"
#include "poolcert/x509/x509_load.hpp"
#include "reference_spec.hpp"
#include "temp_dir.hpp"

using namespace poolcert;

namespace {

// The reference deployment with a second front end.
PoolSpec two_server_spec() {
  PoolSpec spec = test::reference_spec();
  spec.servers.push_back(spec.servers.front());
  spec.servers.back().fqdn = "ocssrv02.company.local";
  return spec;
}

std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The certificates of a store's object stack, in its order.
std::vector<X509*> store_certificates(X509_STORE* store) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  std::vector<X509*> certs;
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    certs.push_back(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)));
  }
  return certs;
}

}  // namespace

TEST_CASE("--at takes ISO 8601 UTC, a date, or @seconds") {
  CHECK(parse_time("2026-11-25T10:00:00Z") == 1795600800);
  CHECK(parse_time("2026-11-25T10:00:00") == 1795600800);
  CHECK(parse_time("2026-11-25") == 1795564800);
  CHECK(parse_time("@1795600800") == 1795600800);
  CHECK_THROWS_AS(parse_time("yesterday"), UsageError);
  CHECK_THROWS_AS(parse_time("2026-13-01"), UsageError);
  CHECK_THROWS_AS(parse_time("2026-11-25T25:00:00Z"), UsageError);
}

TEST_CASE("--at refuses a date that does not exist instead of moving it") {
  CHECK(parse_time("2028-02-29") == 1835395200);  // date -u -d 2028-02-29 +%s
  CHECK(parse_time("2000-02-29") == 951782400);   // date -u -d 2000-02-29 +%s
  CHECK_THROWS_AS(parse_time("2027-02-29"), UsageError);
  CHECK_THROWS_AS(parse_time("2100-02-29"), UsageError);  // a century, not a leap year
  CHECK_THROWS_AS(parse_time("2027-02-31"), UsageError);
  CHECK_THROWS_AS(parse_time("2026-04-31"), UsageError);
  CHECK_THROWS_AS(parse_time("2027-00-15"), UsageError);
  CHECK_THROWS_AS(parse_time("2026-11-00"), UsageError);
}

TEST_CASE("a report fails on any failed check or unmatched certificate, not on warnings") {
  VerifyReport report;
  ServerReport server;
  server.server = "a.example";
  server.cert = "a.cer";
  server.checks = {{"x", CheckStatus::kPass, "", "", ""}, {"y", CheckStatus::kWarn, "", "", ""}};
  report.servers.push_back(server);
  CHECK_FALSE(report.failed());
  CHECK(report.count(CheckStatus::kWarn) == 1);
  report.unmatched.push_back({"b.cer", "CN=b", "no server"});
  CHECK(report.failed());
  report.unmatched.clear();
  report.servers[0].checks.push_back({"z", CheckStatus::kFail, "", "", ""});
  CHECK(report.failed());
}

TEST_CASE("expected_certificates: every server's plan, with its key read from its CSR") {
  test::TempDir keys;
  PoolSpec spec = two_server_spec();
  ossl::UniquePtr<EVP_PKEY> key = generate_key(KeySpec{});
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  keys.write("ocssrv01.company.local.csr", encode_csr_pem(build_csr(plan, key.get()).get()));
  VerifyOptions options;
  options.key_dir = keys.path();
  options.servers = {"ocssrv02.company.local"};  // a filter on the report, not on pairing

  std::vector<ExpectedCertificate> expected = expected_certificates(spec, options);
  REQUIRE(expected.size() == 2);
  CHECK(expected[0].server == &spec.servers[0]);
  CHECK(expected[0].certificate == &spec.certificates[0]);
  CHECK(expected[0].plan.server_fqdn == "ocssrv01.company.local");
  CHECK(expected[0].plan.common_name == "ocspool.company.local");
  REQUIRE(expected[0].spki.has_value());
  CHECK(*expected[0].spki == spki_sha256(key.get()));
  CHECK(expected[1].plan.server_fqdn == "ocssrv02.company.local");
  CHECK_FALSE(expected[1].spki.has_value());  // no CSR and no key: pairing falls back to names
}

TEST_CASE("expected_certificates refuses a server or certificate the spec does not have") {
  PoolSpec spec = two_server_spec();
  VerifyOptions options;
  options.servers = {"ocssrv03.company.local"};
  CHECK_THROWS_AS(expected_certificates(spec, options), UsageError);
  options.servers.clear();
  options.certificates = {"edge"};
  CHECK_THROWS_AS(expected_certificates(spec, options), UsageError);
}

TEST_CASE("expected_certificates names a CSR in the key folder that holds no request") {
  test::TempDir keys;
  PoolSpec spec = two_server_spec();
  keys.write("ocssrv02.company.local.csr", "not a request\n");
  VerifyOptions options;
  options.key_dir = keys.path();
  CHECK_THROWS_AS(expected_certificates(spec, options), BadFileError);
}

TEST_CASE("load_trust_store holds each certificate of the bundle once, as X509_STORE_add_cert") {
  // Two lab CAs of one name: two roots with one subject (a renewal with a new key), and the
  // first CA's intermediate; the bundle repeats them, as bundles of 25,000 do (issue 14).
  test::TempDir tmp;
  LabCaSettings settings;
  settings.key_bits = 2048;
  LabCaInit renewed = init_lab_ca(tmp.path() / "renewed", settings);
  settings.intermediate = true;
  LabCaInit first = init_lab_ca(tmp.path() / "first", settings);
  std::string root_a = file_text(first.files[0].certificate);
  std::string inter = file_text(first.files[1].certificate);
  std::string root_b = file_text(renewed.files[0].certificate);
  std::filesystem::path bundle =
      tmp.write("bundle.pem", root_b + root_a + inter + root_a + root_b + inter + root_a);

  ossl::UniquePtr<X509_STORE> store = load_trust_store(bundle);
  // Sorted once when made: the verify threads' lookups never sort it.
  CHECK(sk_X509_OBJECT_is_sorted(X509_STORE_get0_objects(store.get())) == 1);

  // What OpenSSL's own insertion makes of the same bundle, sorted as its first lookup would.
  X509Objects objects = load_x509_objects(bundle);
  ossl::UniquePtr<X509_STORE> reference(X509_STORE_new());
  REQUIRE(reference);
  for (const auto& cert : objects.certificates) {
    REQUIRE(X509_STORE_add_cert(reference.get(), cert.get()) == 1);
  }
  sk_X509_OBJECT_sort(X509_STORE_get0_objects(reference.get()));

  std::vector<X509*> got = store_certificates(store.get());
  std::vector<X509*> expected = store_certificates(reference.get());
  REQUIRE(got.size() == 3);
  REQUIRE(expected.size() == 3);
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(X509_cmp(got[i], expected[i]) == 0);
  }

  // The intermediate's issuer is found among the two roots of its name.
  ossl::UniquePtr<X509> intermediate = std::move(objects.certificates[2]);
  ossl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), intermediate.get(), nullptr) == 1);
  X509* issuer = nullptr;
  REQUIRE(X509_STORE_CTX_get1_issuer(&issuer, ctx.get(), intermediate.get()) == 1);
  ossl::UniquePtr<X509> issuer_owned(issuer);
  CHECK(X509_cmp(issuer, objects.certificates[1].get()) == 0);  // root_a, not root_b
}
