// libFuzzer target: the whole verify pipeline on any bytes read as one certificate file (PEM,
// DER or PKCS#7), against templates/ocs2007-enterprise.toml, checked at 2026-01-01 with the test
// root of tests/fuzz/data/verify/ as the only trust anchor and ocssrv01's CSR as its key. The
// seeds (tests/fuzz/make-seeds) pair and pass, so mutations reach every check. poolcert::Error
// is an expected refusal; anything else escaping, or a sanitizer report, is a bug.
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/toml/spec_toml.hpp"
#include "poolcert/verify/verify.hpp"
#include "poolcert/x509/x509_load.hpp"

namespace {

using poolcert_fuzz::kSource;
using poolcert_fuzz::require;

struct Fixture {
  poolcert::PoolSpec spec;
  poolcert::VerifyOptions options;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture made;
    made.spec = poolcert::load_spec(kSource / "templates/ocs2007-enterprise.toml",
                                    poolcert::ProfileSearch{{kSource / "templates/profiles"}});
    made.options.key_dir = kSource / "tests/fuzz/data/verify/keys";
    made.options.ca_bundle = kSource / "tests/fuzz/data/verify/ca.pem";
    made.options.at = 1767225600;  // 2026-01-01T00:00:00Z: the seeds are valid then
    return made;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture();  // a broken fixture fails at start, not as a "crash" on the first input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<poolcert::InputCertificate> input;
  try {
    poolcert::X509Objects objects = poolcert::parse_x509_objects(bytes, "fuzz.p7b");
    for (auto& cert : objects.certificates) input.push_back({"fuzz.p7b", std::move(cert)});
  } catch (const poolcert::Error&) {
    ERR_clear_error();
    return 0;
  }
  try {
    poolcert::VerifyReport report = poolcert::verify(f.spec, input, f.options);
    require(report.servers.size() == f.spec.servers.size(), "one report per server");
    for (const poolcert::ServerReport& s : report.servers) {
      require(!s.checks.empty(), "every server has checks");
      for (const poolcert::CheckResult& c : s.checks)
        require(!c.id.empty(), "every check has an id");
    }
    require(report.failed() ==
                (report.count(poolcert::CheckStatus::kFail) > 0 || !report.unmatched.empty()),
            "failed() agrees with the checks");
  } catch (const poolcert::Error&) {
  }
  ERR_clear_error();
  return 0;
}
