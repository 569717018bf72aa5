// The reference deployment of DOMAIN.md as a PoolSpec built in code (no TOML, no profile file):
// one front end, two SIP domains, the OCS 2007 Enterprise rules. Tests add what they need.
#pragma once

#include "poolcert/model/derive.hpp"
#include "poolcert/model/spec.hpp"

namespace poolcert::test {

// The SAN names of a plan, in order.
inline std::vector<std::string> san_names(const CertificatePlan& plan) {
  std::vector<std::string> out;
  for (const auto& d : plan.sans) out.push_back(d.name);
  return out;
}

// SAN rules without conditions, from patterns.
inline std::vector<NameRule> name_rules(std::initializer_list<std::string> patterns) {
  std::vector<NameRule> out;
  for (const std::string& p : patterns) out.push_back({p, {}, ""});
  return out;
}

inline PoolSpec reference_spec() {
  PoolSpec spec;
  Profile profile;
  profile.name = "test-enterprise";
  profile.cn_pattern = "{pool_fqdn}";
  profile.san_rules =
      name_rules({"{pool_fqdn}", "sip.{sip_domain}", "{pool_host}.{sip_domain}", "{server_fqdn}"});
  profile.eku_request = {"serverAuth", "clientAuth"};
  profile.key_usage = {"digitalSignature", "keyEncipherment"};
  spec.certificates = {{"", profile}};
  spec.pool_fqdn = "ocspool.company.local";
  spec.sip_domains = {"company.local", "company.com"};
  spec.subject = {{"O", "Company"}};
  ServerSpec s1;
  s1.fqdn = "ocssrv01.company.local";
  spec.servers = {s1};
  return spec;
}

}  // namespace poolcert::test
