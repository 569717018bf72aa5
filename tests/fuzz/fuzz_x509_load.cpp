// libFuzzer target: parse_x509_objects on any bytes (PEM, DER, PKCS#7), then the facts of every
// certificate and request found, as `poolcert inspect` reports them. poolcert::Error is the
// expected way to refuse input; anything else escaping, or a sanitizer report, is a bug.
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/x509_load.hpp"

namespace {

void use_facts(const poolcert::X509Facts& f) {
  poolcert_fuzz::require(!f.kind.empty(), "facts name their kind");
  (void)poolcert::join_name(f.subject);
  (void)poolcert::join_name(f.issuer);
  if (f.not_before) (void)poolcert::format_utc(*f.not_before);
  if (f.not_after) (void)poolcert::format_utc(*f.not_after);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    poolcert::X509Objects objects = poolcert::parse_x509_objects(bytes, "fuzz-input");
    for (const auto& cert : objects.certificates) {
      (void)poolcert::subject_text(cert.get());
      try {
        use_facts(poolcert::certificate_facts(cert.get()));
      } catch (const poolcert::Error&) {  // an unusable public key: reported, not a crash
      }
    }
    for (const auto& req : objects.requests) {
      try {
        use_facts(poolcert::request_facts(req.get()));
      } catch (const poolcert::Error&) {
      }
    }
  } catch (const poolcert::Error&) {
  }
  ERR_clear_error();  // nothing may carry over to the next input
  return 0;
}
