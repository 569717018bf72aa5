#include <doctest/doctest.h>

#include "poolcert/error.hpp"
#include "poolcert/verify.hpp"

using namespace poolcert;

TEST_CASE("--at takes ISO 8601 UTC, a date, or @seconds") {
  CHECK(parse_time("2026-11-25T10:00:00Z") == 1795600800);
  CHECK(parse_time("2026-11-25T10:00:00") == 1795600800);
  CHECK(parse_time("2026-11-25") == 1795564800);
  CHECK(parse_time("@1795600800") == 1795600800);
  CHECK_THROWS_AS(parse_time("yesterday"), UsageError);
  CHECK_THROWS_AS(parse_time("2026-13-01"), UsageError);
  CHECK_THROWS_AS(parse_time("2026-11-25T25:00:00Z"), UsageError);
}

TEST_CASE("a report fails on any failed check or unmatched certificate, not on warnings") {
  VerifyReport report;
  report.servers.push_back(
      {"a.example",
       "a.cer",
       {{"x", CheckStatus::kPass, "", "", ""}, {"y", CheckStatus::kWarn, "", "", ""}}});
  CHECK_FALSE(report.failed());
  CHECK(report.count(CheckStatus::kWarn) == 1);
  report.unmatched.push_back({"b.cer", "CN=b", "no server"});
  CHECK(report.failed());
  report.unmatched.clear();
  report.servers[0].checks.push_back({"z", CheckStatus::kFail, "", "", ""});
  CHECK(report.failed());
}
