// The checks of `poolcert verify` (and probe): every check id, with when it fails or warns, in
// one table. The checks build their results from these ids; a unit test keeps the README's check
// table equal to this one.
#pragma once

#include <span>
#include <string_view>

namespace poolcert {

// CheckInfo is one check: its stable id (scripts depend on it) and, in one line, when it fails
// and when it warns.
struct CheckInfo {
  std::string_view id;
  std::string_view rule;
};

namespace check {
inline constexpr std::string_view kCertPresent = "cert.present";
inline constexpr std::string_view kSubjectCn = "subject.cn";
inline constexpr std::string_view kSanMissing = "san.missing";
inline constexpr std::string_view kSanExtra = "san.extra";
inline constexpr std::string_view kSanCnIncluded = "san.cn-included";
inline constexpr std::string_view kSanWildcard = "san.wildcard";
inline constexpr std::string_view kKeyMatch = "key.match";
inline constexpr std::string_view kKeyType = "key.type";
inline constexpr std::string_view kEkuServerAuth = "eku.server-auth";
inline constexpr std::string_view kEkuClientAuth = "eku.client-auth";
inline constexpr std::string_view kKeyUsage = "key-usage";
inline constexpr std::string_view kBasicConstraints = "basic-constraints";
inline constexpr std::string_view kSignatureAlgorithm = "signature.algorithm";
inline constexpr std::string_view kValidityWindow = "validity.window";
inline constexpr std::string_view kValidityRemaining = "validity.remaining";
inline constexpr std::string_view kChainTrusted = "chain.trusted";
inline constexpr std::string_view kChainComplete = "chain.complete";
inline constexpr std::string_view kCdpPresent = "cdp.present";
inline constexpr std::string_view kCdpHttp = "cdp.http";
inline constexpr std::string_view kAiaPresent = "aia.present";
inline constexpr std::string_view kPoolSameCertificate = "pool.same-certificate";
}  // namespace check

// check_catalog lists every check, in the order verify reports them.
std::span<const CheckInfo> check_catalog() noexcept;

// is_known_check tells whether `id` is in the catalog.
bool is_known_check(std::string_view id) noexcept;

}  // namespace poolcert
