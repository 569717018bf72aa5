#include <doctest/doctest.h>

#include "poolcert/csr.hpp"
#include "poolcert/error.hpp"
#include "poolcert/key.hpp"
#include "poolcert/verify.hpp"
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
