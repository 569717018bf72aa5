// The per-certificate checks of `poolcert verify`. Each check has a stable id; each message says
// what was expected and what was found. Sources: DOMAIN.md "Failures a pre-install check can
// catch" and the rules common to the product line.
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>

#include "poolcert/dns_name.hpp"
#include "poolcert/error.hpp"
#include "poolcert/inspect.hpp"
#include "poolcert/verify.hpp"

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

CheckResult make(std::string id, CheckStatus status, std::string message, std::string expected,
                 std::string found) {
  return {std::move(id), status, std::move(message), std::move(expected), std::move(found)};
}

// Checks that together say "the names are right" (DOMAIN.md: CN, SANs, wildcards).
void check_names(const CertificateChecks& in, const X509Facts& f, std::vector<CheckResult>& out) {
  const CertificatePlan& plan = *in.plan;
  const Profile& profile = *in.profile;
  bool cn_ok = same_dns_name(f.common_name, plan.common_name);
  out.push_back(make("subject.cn", cn_ok ? CheckStatus::kPass : CheckStatus::kFail,
                     cn_ok ? "CN is " + plan.common_name
                           : "CN is '" + f.common_name + "', the profile " + profile.name +
                                 " wants " + plan.common_name,
                     plan.common_name, f.common_name));

  std::vector<std::string> missing;
  std::string why;
  for (const DerivedName& want : plan.sans) {
    if (contains_name(f.dns_sans, want.name)) continue;
    missing.push_back(want.name);
    why += "; " + want.name + " (required by profile " + profile.name + ", " + want.reason + ")";
  }
  std::vector<std::string> wanted;
  for (const DerivedName& d : plan.sans) wanted.push_back(d.name);
  out.push_back(make("san.missing", missing.empty() ? CheckStatus::kPass : CheckStatus::kFail,
                     missing.empty() ? "all " + std::to_string(wanted.size()) +
                                           " required names are in the certificate"
                                     : join(missing) + " not in certificate: " + why.substr(2),
                     join(wanted), join(f.dns_sans)));

  std::vector<std::string> extra;
  for (const std::string& name : f.dns_sans) {
    if (!contains_name(wanted, name)) extra.push_back(name);
  }
  CheckStatus extra_status = extra.empty()        ? CheckStatus::kPass
                             : in.options->strict ? CheckStatus::kFail
                                                  : CheckStatus::kWarn;
  out.push_back(make("san.extra", extra_status,
                     extra.empty() ? "no names beyond the spec's"
                                   : join(extra) + " in the certificate but not in the spec",
                     join(wanted), join(f.dns_sans)));

  // TLS clients ignore the subject when a SAN is present (DOMAIN.md).
  bool cn_in_san = !f.common_name.empty() && contains_name(f.dns_sans, f.common_name);
  out.push_back(make("san.cn-included", cn_in_san ? CheckStatus::kPass : CheckStatus::kFail,
                     cn_in_san ? "the CN is among the SANs"
                               : "the CN '" + f.common_name +
                                     "' is not among the SANs: clients that find a SAN ignore "
                                     "the CN",
                     f.common_name, join(f.dns_sans)));

  std::vector<std::string> wild;
  for (const std::string& n : f.dns_sans) {
    if (n.find('*') != std::string::npos) wild.push_back(n);
  }
  bool cn_wild = f.common_name.find('*') != std::string::npos;
  CheckStatus wild_status = CheckStatus::kPass;
  std::string wild_message = "no wildcard names";
  if (cn_wild || (!wild.empty() && !profile.allow_wildcards)) {
    wild_status = CheckStatus::kFail;
    wild_message = cn_wild ? "wildcard CN '" + f.common_name + "' (never allowed in the CN)"
                           : join(wild) + ": profile " + profile.name + " forbids wildcards";
  } else if (!wild.empty() && !f.dns_sans.empty() && f.dns_sans.front().find('*') == 0) {
    wild_status = CheckStatus::kWarn;  // DOMAIN.md: a wildcard before the FQDNs breaks UC phones
    wild_message = "wildcard " + f.dns_sans.front() + " comes before the FQDN entries";
  }
  out.push_back(make("san.wildcard", wild_status, wild_message,
                     profile.allow_wildcards ? "wildcards after the FQDNs" : "no wildcards",
                     join(wild)));
}

void check_key(const CertificateChecks& in, const X509Facts& f, std::vector<CheckResult>& out) {
  if (!in.server_spki) {
    out.push_back(make("key.match", CheckStatus::kWarn,
                       "could not be checked: no key or CSR of " + in.plan->server_fqdn + " in " +
                           in.options->key_dir.string() +
                           " (paired by the server name in the SANs)",
                       "", f.spki_sha256));
  } else {
    bool same = *in.server_spki == f.spki_sha256;
    out.push_back(make("key.match", same ? CheckStatus::kPass : CheckStatus::kFail,
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
  bool allowed = known && profile_allows_key((*in.profile), as_spec) &&
                 !(f.key.type == "rsa" && f.key.bits < 2048);
  out.push_back(make("key.type", allowed ? CheckStatus::kPass : CheckStatus::kFail,
                     describe_facts(f.key) + (allowed ? " is" : " is not") +
                         " allowed by profile " + (*in.profile).name,
                     describe_allowed_keys((*in.profile)), describe_facts(f.key)));
}

void check_usages(const CertificateChecks& in, const X509Facts& f, std::vector<CheckResult>& out) {
  const Profile& profile = *in.profile;
  auto eku_check = [&](const char* id, const std::string& eku) {
    bool present = contains(f.eku, eku);
    CheckStatus missing_status = contains(profile.eku_require, eku)     ? CheckStatus::kFail
                                 : contains(profile.eku_recommend, eku) ? CheckStatus::kWarn
                                                                        : CheckStatus::kPass;
    if (std::string(id) == "eku.server-auth") missing_status = CheckStatus::kFail;
    std::string msg = present ? eku + " present"
                      : missing_status == CheckStatus::kPass
                          ? eku + " absent (not needed by profile " + profile.name + ")"
                          : eku + " missing (profile " + profile.name + ")";
    out.push_back(make(id, present ? CheckStatus::kPass : missing_status, msg, eku, join(f.eku)));
  };
  eku_check("eku.server-auth", "serverAuth");
  eku_check("eku.client-auth", "clientAuth");

  std::vector<std::string> need = {"digitalSignature"};
  if (f.key.type == "rsa") need.push_back("keyEncipherment");  // RSA key transport in TLS 1.2
  std::vector<std::string> lacking;
  for (const std::string& bit : need) {
    if (f.has_key_usage && !contains(f.key_usage, bit)) lacking.push_back(bit);
  }
  CheckStatus ku_status = !f.has_key_usage  ? CheckStatus::kWarn
                          : lacking.empty() ? CheckStatus::kPass
                                            : CheckStatus::kFail;
  out.push_back(make("key-usage", ku_status,
                     !f.has_key_usage  ? "no keyUsage extension (any usage allowed)"
                     : lacking.empty() ? "key usage " + join(f.key_usage)
                                       : join(lacking) + " missing from key usage",
                     join(need), f.has_key_usage ? join(f.key_usage) : "(no extension)"));

  bool ca = f.is_ca.value_or(false);
  out.push_back(
      make("basic-constraints", ca ? CheckStatus::kFail : CheckStatus::kPass,
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
    if (!profile.allow_rsassa_pss) {
      status = CheckStatus::kFail;
      why += ": RSASSA-PSS is not supported by profile " + profile.name;
    }
  } else if (digest == NID_md5 || digest == NID_md2 || digest == NID_md4) {
    status = CheckStatus::kFail;
    why += ": MD5-family signatures are broken";
  } else if (digest == NID_sha1) {
    status = profile.allow_sha1_signature ? CheckStatus::kWarn : CheckStatus::kFail;
    why += profile.allow_sha1_signature
               ? ": SHA-1 is accepted by profile " + profile.name + " but weak"
               : ": SHA-1 is not accepted by profile " + profile.name;
  }
  out.push_back(
      make("signature.algorithm", status, why, "SHA-2 with RSA or ECDSA", f.signature_algorithm));
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
  out.push_back(make("validity.window", early || late ? CheckStatus::kFail : CheckStatus::kPass,
                     msg + " (" + window + ")", "valid at " + format_utc(at), window));
  if (early || late) {
    // One defect, one failing check: outside the window, days left mean nothing.
    out.push_back(make("validity.remaining", CheckStatus::kPass,
                       "not applicable: outside the validity window (see validity.window)",
                       std::to_string(in.options->min_days) + " days", window));
    return;
  }
  long days = static_cast<long>((*f.not_after - at) / kSecondsPerDay);
  bool enough = days >= in.options->min_days;
  out.push_back(make("validity.remaining", enough ? CheckStatus::kPass : CheckStatus::kFail,
                     std::to_string(days) + " days left (at least " +
                         std::to_string(in.options->min_days) + " wanted)",
                     ">= " + std::to_string(in.options->min_days) + " days",
                     std::to_string(days) + " days"));
}

void check_revocation_info(const X509Facts& f, X509* leaf, std::vector<CheckResult>& out) {
  // DOMAIN.md: every server certificate must carry a CDP; LDAP-only fails outside the domain.
  const auto& cdps = f.crl_distribution_points;
  out.push_back(make("cdp.present", cdps.empty() ? CheckStatus::kFail : CheckStatus::kPass,
                     cdps.empty() ? "no CRL distribution point: clients that cannot check "
                                    "revocation fail to sign in"
                                  : "CRL distribution point " + join(cdps),
                     "a CRL distribution point", join(cdps)));
  bool http = std::any_of(cdps.begin(), cdps.end(), [](const std::string& u) {
    return to_lower_ascii(u).rfind("http://", 0) == 0 ||
           to_lower_ascii(u).rfind("https://", 0) == 0;
  });
  out.push_back(make("cdp.http", http ? CheckStatus::kPass : CheckStatus::kWarn,
                     http ? "an HTTP CRL distribution point"
                          : "no HTTP CRL distribution point: clients outside the domain cannot "
                            "fetch an LDAP one",
                     "an http:// CDP", join(cdps)));
  int crit = 0;
  auto* aia =
      static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(leaf, NID_info_access, &crit, nullptr));
  bool has_aia = aia != nullptr && sk_ACCESS_DESCRIPTION_num(aia) > 0;
  AUTHORITY_INFO_ACCESS_free(aia);
  ERR_clear_error();
  out.push_back(make("aia.present", has_aia ? CheckStatus::kPass : CheckStatus::kWarn,
                     has_aia ? "authority information access present"
                             : "no authority information access: clients cannot fetch a "
                               "missing intermediate",
                     "authorityInfoAccess", has_aia ? "present" : "(none)"));
}

}  // namespace

void check_chain(const CertificateChecks& in, std::vector<CheckResult>& out);  // verify_chain.cpp

std::vector<CheckResult> run_checks(const CertificateChecks& in) {
  const X509Facts& f = *in.facts;
  std::vector<CheckResult> out;
  check_names(in, f, out);
  check_key(in, f, out);
  check_usages(in, f, out);
  check_signature(in, f, out);
  check_validity(in, f, out);
  check_chain(in, out);
  check_revocation_info(f, in.leaf, out);
  return out;
}

}  // namespace poolcert
