#include <doctest/doctest.h>

#include <stdexcept>

#include "poolcert/model/derive.hpp"
#include "reference_spec.hpp"

using namespace poolcert;
using poolcert::test::name_rules;
using poolcert::test::reference_spec;
using poolcert::test::san_names;

TEST_CASE("a pattern with {sip_domain} expands once per domain, in spec order") {
  PoolSpec spec = reference_spec();
  PatternVars vars = pattern_vars(spec, spec.servers[0]);
  CHECK(expand_pattern("sip.{sip_domain}", vars) ==
        std::vector<std::string>{"sip.company.local", "sip.company.com"});
  CHECK(expand_pattern("{pool_host}.{sip_domain}", vars) ==
        std::vector<std::string>{"ocspool.company.local", "ocspool.company.com"});
  CHECK(expand_pattern("{server_host}-x.{pool_domain}", vars) ==
        std::vector<std::string>{"ocssrv01-x.company.local"});
  CHECK(expand_pattern("literal.example", vars) == std::vector<std::string>{"literal.example"});
}

TEST_CASE("bad patterns are named") {
  CHECK(pattern_problem("{nope}.x") == "unknown placeholder {nope}");
  CHECK(pattern_problem("{pool_fqdn") == "unclosed '{'");
  CHECK(pattern_problem("pool}") == "unbalanced '}'");
  CHECK(pattern_problem("{sip_domain}.{sip_domain}").empty());  // one list, expanded together
  CHECK(pattern_problem("{meet}.{sip_domain}").rfind("at most one many-valued", 0) == 0);
  CHECK(pattern_problem("") == "empty pattern");
  CHECK(pattern_problem("sip.{sip_domain}").empty());
}

TEST_CASE("the reference deployment derives the names of DOMAIN.md, CN first") {
  PoolSpec spec = reference_spec();
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(plan.common_name == "ocspool.company.local");
  CHECK(san_names(plan) == std::vector<std::string>{"ocspool.company.local", "sip.company.local",
                                                    "sip.company.com", "ocspool.company.com",
                                                    "ocssrv01.company.local"});
  REQUIRE(plan.subject.size() == 2);
  CHECK(plan.subject[0] == std::pair<std::string, std::string>{"O", "Company"});
  CHECK(plan.subject[1] == std::pair<std::string, std::string>{"CN", "ocspool.company.local"});
  CHECK(plan.sans[2].reason.find("SIP domain company.com") != std::string::npos);
}

TEST_CASE("the CN is added first even when no pattern names it, and duplicates collapse") {
  PoolSpec spec = reference_spec();
  spec.certificates[0].profile.san_rules =
      name_rules({"sip.{sip_domain}", "SIP.{sip_domain}", "{server_fqdn}"});
  spec.servers[0].extra_sans = {"ocspool.company.local", "extra.company.local"};
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(san_names(plan) == std::vector<std::string>{"ocspool.company.local", "sip.company.local",
                                                    "sip.company.com", "ocssrv01.company.local",
                                                    "extra.company.local"});
}

TEST_CASE("a derived name that is not a DNS name is refused") {
  PoolSpec spec = reference_spec();
  spec.certificates[0].profile.san_rules =
      name_rules({"{pool_host}-{server_host}-" + std::string(60, 'x') + ".x"});
  CHECK_THROWS_AS(derive_plan(spec, spec.servers[0], spec.certificates[0]), std::invalid_argument);
  spec.certificates[0].profile.san_rules = name_rules({"*.{pool_domain}.x*"});
  CHECK_THROWS_AS(derive_plan(spec, spec.servers[0], spec.certificates[0]), std::invalid_argument);
  // A wildcard the profile's own pattern gives is the profile author's (S2: XMPP's *.<D>); it
  // comes after every FQDN.
  spec.certificates[0].profile.san_rules = name_rules({"*.{pool_domain}", "{server_fqdn}"});
  CHECK(san_names(derive_plan(spec, spec.servers[0], spec.certificates[0])) ==
        std::vector<std::string>{"ocspool.company.local", "ocssrv01.company.local",
                                 "*.company.local"});
}

TEST_CASE(
    "simple URL placeholders: {meet} expands once per meet host, absent values give nothing") {
  PoolSpec spec = reference_spec();
  spec.certificates[0].profile.san_rules =
      name_rules({"{meet}", "{dialin}", "{admin}", "{web_fqdn}"});
  spec.simple_urls.meet = {"meet.company.com", "meet.company.local"};
  spec.simple_urls.dialin = "dialin.company.com";
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(san_names(plan) == std::vector<std::string>{"ocspool.company.local", "meet.company.com",
                                                    "meet.company.local", "dialin.company.com"});
}

TEST_CASE("a plan carries its certificate's name, profile, template and exportability") {
  PoolSpec spec = reference_spec();
  spec.certificates[0].name = "web-internal";
  spec.certificates[0].profile.template_name = "WebServer";
  spec.certificates[0].profile.exportable = true;
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(plan.certificate == "web-internal");
  CHECK(plan.profile == "test-enterprise");
  CHECK(plan.template_name == "WebServer");
  CHECK(plan.exportable);
  spec.template_name = "PoolWeb";  // the spec's template wins over the profile's
  CHECK(derive_plan(spec, spec.servers[0], spec.certificates[0]).template_name == "PoolWeb");
}
