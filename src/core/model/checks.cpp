// The one table of verify's checks (checks.hpp). The README's check table is this table: a unit
// test (tests/unit/test_checks.cpp) compares them.
#include "poolcert/model/checks.hpp"

#include <algorithm>
#include <array>

namespace poolcert {
namespace {

using namespace check;

constexpr std::array kCatalog = {
    CheckInfo{kCertPresent, "no certificate of the input has the server's key or its name"},
    CheckInfo{kSubjectCn, "the CN is not the profile's (the pool FQDN for a pool certificate)"},
    CheckInfo{kSanMissing,
              "a required name is absent (a wildcard SAN counts where the profile takes one); "
              "the message lists each with the rule that wants it"},
    CheckInfo{kSanExtra,
              "(warn; fail with `--strict`) the certificate has names the spec does not"},
    CheckInfo{kSanCnIncluded,
              "the certificate has SANs but not the CN (poolcert's rule: clients that find a SAN "
              "ignore the CN)"},
    CheckInfo{kSanWildcard,
              "a wildcard in the CN, on a certificate whose profile takes none, or before an FQDN "
              "SAN (L10: UC devices fail)"},
    CheckInfo{kKeyMatch, "the certificate is not for the server's key (warn: no key to compare)"},
    CheckInfo{kKeyType,
              "the key type or size is not allowed by the profile for the product (RSA under "
              "2048 never: poolcert's floor)"},
    CheckInfo{kEkuServerAuth, "no Server Authentication EKU"},
    CheckInfo{kEkuClientAuth,
              "no Client Authentication EKU where the spec asks for it (`public_im`); never "
              "required otherwise"},
    CheckInfo{kKeyUsage,
              "digitalSignature (and keyEncipherment for RSA) missing (warn: no keyUsage)"},
    CheckInfo{kBasicConstraints, "the leaf is a CA"},
    CheckInfo{kSignatureAlgorithm,
              "MD5; SHA-1 or RSASSA-PSS as the profile's `[verify]` says (default: SHA-1 warns, "
              "RSASSA-PSS fails)"},
    CheckInfo{kValidityWindow, "not yet valid or expired at `--at` (default now)"},
    CheckInfo{kValidityRemaining, "fewer than `--min-days` (default 30) days left"},
    CheckInfo{kChainTrusted,
              "no chain to `--ca-bundle` (default: the system store), using intermediates from "
              "the input"},
    CheckInfo{kChainComplete,
              "an intermediate up to the root was not in the input (the server must send it)"},
    CheckInfo{kCdpPresent, "no CRL distribution point (as the profile's `[verify] cdp` says)"},
    CheckInfo{kCdpHttp, "(warn) LDAP-only CRL distribution points (`[verify] cdp_http`)"},
    CheckInfo{kAiaPresent, "(warn) no authority information access (`[verify] aia`)"},
    CheckInfo{kPoolSameCertificate,
              "a certificate the pool's members share (Edge, OAuthTokenIssuer) is not one "
              "certificate and key: the message names the members and files that differ"},
};

}  // namespace

std::span<const CheckInfo> check_catalog() noexcept {
  return kCatalog;
}

bool is_known_check(std::string_view id) noexcept {
  return std::any_of(kCatalog.begin(), kCatalog.end(),
                     [&](const CheckInfo& c) { return c.id == id; });
}

}  // namespace poolcert
