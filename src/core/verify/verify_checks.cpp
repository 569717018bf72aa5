// The per-certificate checks of `poolcert verify`. Each check has a stable id; each message says
// what was expected and what was found. Sources: DOMAIN.md "Failures a pre-install check can
// catch" and the rules common to the product line.
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>

#include "poolcert/model/checks.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/verify/verify.hpp"
#include "poolcert/x509/inspect.hpp"

namespace poolcert {
namespace {

constexpr long kSecondsPerDay = 86400;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

bool contains_name(const std::vector<std::string>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return same_dns_name(n, name); });
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

CheckResult make(std::string_view id, CheckStatus status, std::string message, std::string expected,
                 std::string found) {
  return {std::string(id), status, std::move(message), std::move(expected), std::move(found)};
}

bool is_wildcard(const std::string& name) {
  return name.find('*') != std::string::npos;
}

// Whether the certificate carries `want`: the name itself, or, for a simple-URL or autodiscover
// name on a certificate whose profile takes a wildcard, a wildcard SAN that covers it (one label,
// RFC 6125 6.4.3).
bool has_name(const X509Facts& f, const DerivedName& want, const Profile& profile) {
  if (contains_name(f.dns_sans, want.name)) return true;
  if (!want.wildcard_may_cover || !profile.allow_wildcards) return false;
  return std::any_of(f.dns_sans.begin(), f.dns_sans.end(),
                     [&](const std::string& n) { return wildcard_covers(n, want.name); });
}

// The status a profile's [verify] level gives a finding.
CheckStatus status_of(CheckLevel level) {
  return level == CheckLevel::kFail   ? CheckStatus::kFail
         : level == CheckLevel::kWarn ? CheckStatus::kWarn
                                      : CheckStatus::kPass;
}

void check_subject(const CertificateChecks& in, const X509Facts& f, std::vector<CheckResult>& out) {
  const CertificatePlan& plan = *in.plan;
  bool cn_ok = same_dns_name(f.common_name, plan.common_name);
  out.push_back(make(check::kSubjectCn, cn_ok ? CheckStatus::kPass : CheckStatus::kFail,
                     cn_ok ? "CN is " + plan.common_name
                           : "CN is '" + f.common_name + "', the profile " + in.profile->name +
                                 " wants " + plan.common_name,
                     plan.common_name, f.common_name));
}

// san.missing, san.extra: the names the plan wants against the certificate's (the CN's own place
// is san.cn-included's, so that one defect fails one check).
void check_san_lists(const CertificateChecks& in, const X509Facts& f,
                     std::vector<CheckResult>& out) {
  const CertificatePlan& plan = *in.plan;
  const Profile& profile = *in.profile;
  std::vector<std::string> missing;
  std::string why;
  std::vector<std::string> wanted;
  for (const DerivedName& want : plan.sans) {
    wanted.push_back(want.name);
    if (same_dns_name(want.name, plan.common_name) || has_name(f, want, profile)) continue;
    missing.push_back(want.name);
    why += "; " + want.name + " (required by profile " + profile.name + ", " + want.reason + ")";
  }
  out.push_back(make(check::kSanMissing, missing.empty() ? CheckStatus::kPass : CheckStatus::kFail,
                     missing.empty() ? "all " + std::to_string(wanted.size()) +
                                           " required names are in the certificate"
                                     : join(missing) + " not in certificate: " + why.substr(2),
                     join(wanted), join(f.dns_sans)));

  std::vector<std::string> extra;
  for (const std::string& name : f.dns_sans) {
    if (contains_name(wanted, name) || same_dns_name(name, plan.common_name)) continue;
    // A wildcard standing for planned simple-URL names is the alternative Microsoft allows.
    bool stands_for = profile.allow_wildcards &&
                      std::any_of(plan.sans.begin(), plan.sans.end(), [&](const DerivedName& d) {
                        return d.wildcard_may_cover && wildcard_covers(name, d.name);
                      });
    if (!stands_for) extra.push_back(name);
  }
  CheckStatus extra_status = extra.empty()        ? CheckStatus::kPass
                             : in.options->strict ? CheckStatus::kFail
                                                  : CheckStatus::kWarn;
  out.push_back(make(check::kSanExtra, extra_status,
                     extra.empty() ? "no names beyond the spec's"
                                   : join(extra) + " in the certificate but not in the spec",
                     join(wanted), join(f.dns_sans)));
}

void check_cn_included(const CertificateChecks& in, const X509Facts& f,
                       std::vector<CheckResult>& out) {
  // TLS clients ignore the subject when a SAN is present (RFC 6125 6.4.4). A certificate that
  // Microsoft gives no SAN at all (Edge internal, S2) is matched by its CN.
  if (f.dns_sans.empty() && in.plan->sans.empty()) {
    out.push_back(make(check::kSanCnIncluded, CheckStatus::kPass,
                       "no SAN, as the profile wants: clients match the CN", f.common_name,
                       "(no SAN)"));
    return;
  }
  bool cn_in_san = !f.common_name.empty() && contains_name(f.dns_sans, f.common_name);
  out.push_back(make(check::kSanCnIncluded, cn_in_san ? CheckStatus::kPass : CheckStatus::kFail,
                     cn_in_san ? "the CN is among the SANs"
                               : "the CN '" + f.common_name +
                                     "' is not among the SANs: clients that find a SAN ignore "
                                     "the CN (poolcert requires the CN as a SAN, RFC 6125 6.4.4)",
                     f.common_name, join(f.dns_sans)));
}

void check_wildcards(const CertificateChecks& in, const X509Facts& f,
                     std::vector<CheckResult>& out) {
  const Profile& profile = *in.profile;
  std::vector<std::string> wild;
  std::vector<std::string> unplanned;  // wildcards the profile does not take
  for (const std::string& n : f.dns_sans) {
    if (!is_wildcard(n)) continue;
    wild.push_back(n);
    bool planned = std::any_of(in.plan->sans.begin(), in.plan->sans.end(),
                               [&](const DerivedName& d) { return same_dns_name(d.name, n); });
    if (!planned && !profile.allow_wildcards) unplanned.push_back(n);
  }
  // L10: "UC devices ... will fail to authenticate if a wildcard SAN entry is presented before
  // the FQDN entry".
  std::string first_wild;
  for (std::size_t i = 0; i < f.dns_sans.size() && first_wild.empty(); ++i) {
    if (!is_wildcard(f.dns_sans[i])) continue;
    bool fqdn_after =
        std::any_of(f.dns_sans.begin() + static_cast<std::ptrdiff_t>(i) + 1, f.dns_sans.end(),
                    [](const std::string& n) { return !is_wildcard(n); });
    if (fqdn_after) first_wild = f.dns_sans[i];
  }
  bool cn_wild = is_wildcard(f.common_name);
  CheckStatus status = CheckStatus::kPass;
  std::string message = wild.empty() ? "no wildcard names" : join(wild) + " after every FQDN";
  if (cn_wild) {
    status = CheckStatus::kFail;
    message = "wildcard CN '" + f.common_name + "' (never allowed in the CN, L13, L10)";
  } else if (!unplanned.empty()) {
    status = CheckStatus::kFail;
    message = join(unplanned) + ": profile " + profile.name +
              " takes no wildcard (DOMAIN.md Wildcards: web services and reverse-proxy "
              "certificates only)";
  } else if (!first_wild.empty()) {
    status = CheckStatus::kFail;
    message = "wildcard " + first_wild +
              " comes before an FQDN SAN: UC devices fail to authenticate (L10); wildcards go "
              "after every FQDN";
  }
  out.push_back(
      make(check::kSanWildcard, status, message,
           profile.allow_wildcards ? "wildcards after the FQDNs, never in the CN" : "no wildcards",
           join(wild)));
}

void check_key(const CertificateChecks& in, const X509Facts& f, std::vector<CheckResult>& out) {
  if (!in.server_spki) {
    out.push_back(make(check::kKeyMatch, CheckStatus::kWarn,
                       "could not be checked: no key or CSR of " + in.plan->server_fqdn + " in " +
                           in.options->key_dir.string() +
                           " (paired by the server name in the SANs)",
                       "", f.spki_sha256));
  } else {
    bool same = *in.server_spki == f.spki_sha256;
    out.push_back(make(check::kKeyMatch, same ? CheckStatus::kPass : CheckStatus::kFail,
                       same ? "the certificate is for " + in.plan->server_fqdn + "'s key"
                            : "the certificate's public key is not " + in.plan->server_fqdn +
                                  "'s key: it was issued for another CSR",
                       *in.server_spki, f.spki_sha256));
  }
  KeySpec as_spec;
  as_spec.type = f.key.type == "ecdsa" ? KeyType::kEcdsa : KeyType::kRsa;
  as_spec.bits = f.key.bits;
  as_spec.curve = f.key.curve;
  bool known = f.key.type == "rsa" || f.key.type == "ecdsa";
  const Profile& profile = *in.profile;
  int floor = std::max(kMinRsaBits, profile.verify.min_rsa_bits);
  bool weak = f.key.type == "rsa" && f.key.bits < floor;
  bool allowed = known && !weak && profile_allows_key(profile, as_spec);
  std::string products;
  for (const std::string& p : in.spec->rule_products)
    products += (products.empty() ? "" : ", ") + p;
  std::string message =
      weak ? describe_facts(f.key) + " is under poolcert's floor of RSA " + std::to_string(floor) +
                 " (Microsoft supports 1024 but recommends 2048 and greater, S1; NIST SP 800-131A "
                 "retired 1024-bit RSA): request a new certificate with a 2048-bit key or larger"
           : describe_facts(f.key) + (allowed ? " is" : " is not") + " allowed by profile " +
                 profile.name + (products.empty() ? "" : " for " + products);
  out.push_back(make(check::kKeyType, allowed ? CheckStatus::kPass : CheckStatus::kFail, message,
                     describe_allowed_keys(profile), describe_facts(f.key)));
}

void check_usages(const CertificateChecks& in, const X509Facts& f, std::vector<CheckResult>& out) {
  const Profile& profile = *in.profile;
  auto eku_check = [&](std::string_view id, const std::string& eku) {
    bool present = contains(f.eku, eku);
    CheckStatus missing_status = contains(in.plan->eku_required, eku)   ? CheckStatus::kFail
                                 : contains(profile.eku_recommend, eku) ? CheckStatus::kWarn
                                                                        : CheckStatus::kPass;
    // S1, S5: "All server certificates must support server authorization (Server EKU)".
    if (id == check::kEkuServerAuth) missing_status = CheckStatus::kFail;
    std::string msg = present ? eku + " present"
                      : missing_status == CheckStatus::kPass
                          ? eku + " absent (not needed by profile " + profile.name + ")"
                          : eku + " missing (profile " + profile.name + ")";
    out.push_back(make(id, present ? CheckStatus::kPass : missing_status, msg, eku, join(f.eku)));
  };
  eku_check(check::kEkuServerAuth, "serverAuth");
  eku_check(check::kEkuClientAuth, "clientAuth");

  std::vector<std::string> need = {"digitalSignature"};
  if (f.key.type == "rsa") need.push_back("keyEncipherment");  // RSA key transport in TLS 1.2
  std::vector<std::string> lacking;
  for (const std::string& bit : need) {
    if (f.has_key_usage && !contains(f.key_usage, bit)) lacking.push_back(bit);
  }
  CheckStatus ku_status = !f.has_key_usage  ? CheckStatus::kWarn
                          : lacking.empty() ? CheckStatus::kPass
                                            : CheckStatus::kFail;
  out.push_back(make(check::kKeyUsage, ku_status,
                     !f.has_key_usage  ? "no keyUsage extension (any usage allowed)"
                     : lacking.empty() ? "key usage " + join(f.key_usage)
                                       : join(lacking) + " missing from key usage",
                     join(need), f.has_key_usage ? join(f.key_usage) : "(no extension)"));

  bool ca = f.is_ca.value_or(false);
  out.push_back(
      make(check::kBasicConstraints, ca ? CheckStatus::kFail : CheckStatus::kPass,
           ca ? "the leaf is a CA certificate (basicConstraints CA:TRUE)" : "not a CA certificate",
           "CA:FALSE", f.is_ca ? (ca ? "CA:TRUE" : "CA:FALSE") : "(no extension)"));
}

void check_signature(const CertificateChecks& in, const X509Facts& f,
                     std::vector<CheckResult>& out) {
  const Profile& profile = *in.profile;
  int nid = X509_get_signature_nid(in.leaf);
  int digest = NID_undef;
  int pkey = NID_undef;
  OBJ_find_sigid_algs(nid, &digest, &pkey);
  CheckStatus status = CheckStatus::kPass;
  std::string why = f.signature_algorithm;
  if (nid == NID_rsassaPss) {
    status = status_of(profile.verify.rsassa_pss);
    if (status == CheckStatus::kFail) {
      why +=
          ": RSASSA-PSS is unsupported and may lead to errors on login and call forwarding "
          "(S1; profile " +
          profile.name + ")";
    }
  } else if (digest == NID_md5 || digest == NID_md2 || digest == NID_md4) {
    status = CheckStatus::kFail;
    why += ": MD5-family signatures are broken";
  } else if (digest == NID_sha1) {
    status = status_of(profile.verify.sha1);
    why += status == CheckStatus::kFail ? ": SHA-1 is not accepted by profile " + profile.name
           : status == CheckStatus::kWarn
               ? ": SHA-1 is accepted by profile " + profile.name + " but weak"
               : ": SHA-1 (accepted by profile " + profile.name + ")";
  }
  out.push_back(make(check::kSignatureAlgorithm, status, why, "SHA-2 with RSA or ECDSA",
                     f.signature_algorithm));
}

void check_validity(const CertificateChecks& in, const X509Facts& f,
                    std::vector<CheckResult>& out) {
  std::time_t at = in.options->at;
  std::string window = (f.not_before ? format_utc(*f.not_before) : "?") + " to " +
                       (f.not_after ? format_utc(*f.not_after) : "?");
  bool early = !f.not_before || at < *f.not_before;
  bool late = !f.not_after || at > *f.not_after;
  std::string msg = early  ? "not yet valid at " + format_utc(at)
                    : late ? "expired at " + format_utc(at)
                           : "valid at " + format_utc(at);
  out.push_back(make(check::kValidityWindow,
                     early || late ? CheckStatus::kFail : CheckStatus::kPass,
                     msg + " (" + window + ")", "valid at " + format_utc(at), window));
  if (early || late) {
    // One defect, one failing check: outside the window, days left mean nothing.
    out.push_back(make(check::kValidityRemaining, CheckStatus::kPass,
                       "not applicable: outside the validity window (see validity.window)",
                       std::to_string(in.options->min_days) + " days", window));
    return;
  }
  long days = static_cast<long>((*f.not_after - at) / kSecondsPerDay);
  bool enough = days >= in.options->min_days;
  out.push_back(make(check::kValidityRemaining, enough ? CheckStatus::kPass : CheckStatus::kFail,
                     std::to_string(days) + " days left (at least " +
                         std::to_string(in.options->min_days) + " wanted)",
                     ">= " + std::to_string(in.options->min_days) + " days",
                     std::to_string(days) + " days"));
}

// What a profile's [verify] level makes of a finding: its status, and a note when ignored.
CheckResult leveled(std::string_view id, bool found_ok, CheckLevel level, std::string ok_message,
                    std::string bad_message, std::string expected, std::string found) {
  CheckStatus status = found_ok ? CheckStatus::kPass : status_of(level);
  std::string message = found_ok ? std::move(ok_message)
                        : level == CheckLevel::kIgnore
                            ? bad_message + " (not checked: the profile's [verify] ignores it)"
                            : std::move(bad_message);
  return make(id, status, std::move(message), std::move(expected), std::move(found));
}

void check_revocation_info(const CertificateChecks& in, const X509Facts& f, X509* leaf,
                           std::vector<CheckResult>& out) {
  // S1, S5: every server certificate must contain a CRL Distribution Point; an LDAP-only one
  // cannot be fetched outside the domain.
  const VerifyPolicy& policy = in.profile->verify;
  const auto& cdps = f.crl_distribution_points;
  out.push_back(leveled(check::kCdpPresent, !cdps.empty(), policy.cdp,
                        "CRL distribution point " + join(cdps),
                        "no CRL distribution point: clients that cannot check revocation fail to "
                        "sign in (S1: all server certificates must contain a CDP)",
                        "a CRL distribution point", join(cdps)));
  bool http = std::any_of(cdps.begin(), cdps.end(), [](const std::string& u) {
    return to_lower_ascii(u).rfind("http://", 0) == 0 ||
           to_lower_ascii(u).rfind("https://", 0) == 0;
  });
  out.push_back(leveled(check::kCdpHttp, http, policy.cdp_http, "an HTTP CRL distribution point",
                        "no HTTP CRL distribution point: clients outside the domain cannot fetch "
                        "an LDAP one",
                        "an http:// CDP", join(cdps)));
  int crit = 0;
  auto* aia =
      static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(leaf, NID_info_access, &crit, nullptr));
  bool has_aia = aia != nullptr && sk_ACCESS_DESCRIPTION_num(aia) > 0;
  AUTHORITY_INFO_ACCESS_free(aia);
  ERR_clear_error();
  out.push_back(leveled(check::kAiaPresent, has_aia, policy.aia,
                        "authority information access present",
                        "no authority information access: clients cannot fetch a missing "
                        "intermediate",
                        "authorityInfoAccess", has_aia ? "present" : "(none)"));
}

}  // namespace

void check_chain(const CertificateChecks& in, std::vector<CheckResult>& out);  // verify_chain.cpp

std::vector<CheckResult> run_checks(const CertificateChecks& in) {
  const X509Facts& f = *in.facts;
  std::vector<CheckResult> out;
  check_subject(in, f, out);
  check_san_lists(in, f, out);
  check_cn_included(in, f, out);
  check_wildcards(in, f, out);
  check_key(in, f, out);
  check_usages(in, f, out);
  check_signature(in, f, out);
  check_validity(in, f, out);
  check_chain(in, out);
  check_revocation_info(in, f, in.leaf, out);
  return out;
}

}  // namespace poolcert
