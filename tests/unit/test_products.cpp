// Product versions as data (templates/products.toml, built in) and the rules derived from them:
// key rules narrowed per product, conditional names, the simple-URL wildcard, shared plans.
#include <doctest/doctest.h>

#include <algorithm>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/toml/spec_toml.hpp"
#include "reference_spec.hpp"

using namespace poolcert;
using poolcert::test::name_rules;
using poolcert::test::reference_spec;
using poolcert::test::san_names;

namespace {

KeySpec ecdsa(const char* curve) {
  return KeySpec{KeyType::kEcdsa, std::string(curve) == "P-384" ? 384 : 256, curve, false};
}

}  // namespace

TEST_CASE("the built-in product table has the seven products, in order, with their key rules") {
  const std::vector<Product>& products = known_products();
  std::vector<std::string> listed;
  for (const Product& p : products) listed.push_back(p.name);
  CHECK(listed == std::vector<std::string>{"ocs2007", "ocs2007r2", "lync2010", "lync2013",
                                           "sfb2015", "sfb2019", "sfbse"});
  // DOMAIN.md Keys: RSA 2048 and 4096 everywhere; ECDSA from Lync Server 2013 on; never RSA 1024.
  for (const Product& p : products) {
    CAPTURE(p.name);
    CHECK(keys_allow(p.keys, KeySpec{}));
    CHECK(keys_allow(p.keys, KeySpec{KeyType::kRsa, 4096, "", false}));
    CHECK_FALSE(keys_allow(p.keys, KeySpec{KeyType::kRsa, 1024, "", false}));
    bool ecdsa_era = p.name != "ocs2007" && p.name != "ocs2007r2" && p.name != "lync2010";
    CHECK(keys_allow(p.keys, ecdsa("P-256")) == ecdsa_era);
    CHECK(keys_allow(p.keys, ecdsa("P-384")) == ecdsa_era);
  }
  CHECK(find_product("sfbse")->mobility == Mobility::kDefault);  // Subscription Edition: 2019's
  CHECK(find_product("lync2010")->mobility == Mobility::kOptional);
  CHECK(find_product("ocs2007r2")->mobility == Mobility::kNone);
  CHECK(find_product("sfb2016") == nullptr);
}

TEST_CASE("a product table with a mistake names its place") {
  try {
    load_products("[[product]]\nname = \"x\"\nkeys = []\nmobility = \"none\"\n", "p.toml");
    FAIL("no error");
  } catch (const SpecError& e) {
    CHECK(e.field() == "product[0].keys");
  }
  try {
    load_products(
        "[[product]]\nname = \"x\"\nkeys = [{ type = \"rsa\", bits = [2048] }]\n"
        "mobility = \"sometimes\"\n",
        "p.toml");
    FAIL("no error");
  } catch (const SpecError& e) {
    CHECK(e.field() == "product[0].mobility");
  }
}

TEST_CASE("intersect_keys keeps what every product allows") {
  std::vector<KeyRule> profile = {{KeyType::kRsa, {2048, 4096}, {}},
                                  {KeyType::kEcdsa, {}, {"P-256", "P-384"}}};
  std::vector<KeyRule> rsa_only = {{KeyType::kRsa, {2048, 4096}, {}}};
  std::vector<KeyRule> p256 = {{KeyType::kRsa, {2048}, {}}, {KeyType::kEcdsa, {}, {"P-256"}}};
  std::vector<KeyRule> kept = intersect_keys(profile, {rsa_only});
  CHECK(describe_keys(kept) == "RSA 2048/4096");
  kept = intersect_keys(profile, {p256});
  CHECK(describe_keys(kept) == "RSA 2048, ECDSA P-256");
  CHECK(intersect_keys(profile, {}).size() == 2);  // no product: the profile's own rules
}

TEST_CASE("a name rule's condition: every `when` on, no `unless` on") {
  PoolSpec spec = reference_spec();
  PatternVars vars = pool_vars(spec);
  CHECK(condition_holds({{"auto_logon"}, {}}, vars));
  CHECK_FALSE(condition_holds({{"auto_logon", "mobility"}, {}}, vars));
  CHECK_FALSE(condition_holds({{}, {"auto_logon"}}, vars));
  spec.auto_logon = false;
  spec.mobility = true;
  vars = pool_vars(spec);
  CHECK(condition_holds({{"mobility"}, {"auto_logon"}}, vars));
}

TEST_CASE("{pool_in_sip_domain}: the pool FQDN in its own domain, <pool host>.<D> elsewhere") {
  PoolSpec spec = reference_spec();
  CHECK(expand_pattern("{pool_in_sip_domain}", pool_vars(spec)) ==
        std::vector<std::string>{"ocspool.company.local", "ocspool.company.com"});
  CHECK(expand_pattern("_sipinternaltls._tcp.{sip_domain}/{pool_in_sip_domain}", pool_vars(spec)) ==
        std::vector<std::string>{"_sipinternaltls._tcp.company.local/ocspool.company.local",
                                 "_sipinternaltls._tcp.company.com/ocspool.company.com"});
}

TEST_CASE("wildcard_covers: one label, RFC 6125 6.4.3") {
  CHECK(wildcard_covers("*.contoso.com", "meet.contoso.com"));
  CHECK_FALSE(wildcard_covers("*.contoso.com", "contoso.com"));
  CHECK_FALSE(wildcard_covers("*.contoso.com", "a.meet.contoso.com"));
  CHECK_FALSE(wildcard_covers("*.contoso.com", "meet.fabrikam.com"));
  CHECK_FALSE(wildcard_covers("*.contoso.com", "xcontoso.com"));
  CHECK(wildcard_covers("*.contoso.com", "MEET.Contoso.com"));
}

TEST_CASE("the simple-URL wildcard replaces the names it covers and comes after every FQDN") {
  PoolSpec spec = reference_spec();
  spec.sip_domains = {"contoso.com", "fabrikam.com"};
  Profile& profile = spec.certificates[0].profile;
  profile.san_rules = name_rules({"{server_fqdn}", "{meet}", "{dialin}"});
  profile.allow_wildcards = true;
  profile.wildcard_replaces = {"{meet}", "{dialin}"};
  spec.simple_urls.meet = {"meet.contoso.com", "meet.fabrikam.com"};
  spec.simple_urls.dialin = "dialin.contoso.com";
  spec.simple_urls.wildcard = "*.contoso.com";
  spec.servers[0].extra_sans = {"extra.contoso.com"};
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(san_names(plan) == std::vector<std::string>{"ocspool.company.local",
                                                    "ocssrv01.company.local", "meet.fabrikam.com",
                                                    "extra.contoso.com", "*.contoso.com"});
  CHECK(plan.sans.back().reason.find("in place of meet.contoso.com, dialin.contoso.com") !=
        std::string::npos);
  // A profile that takes no wildcard ignores the spec's: it is the web certificates'.
  profile.allow_wildcards = false;
  CHECK(san_names(derive_plan(spec, spec.servers[0], spec.certificates[0])).back() ==
        "extra.contoso.com");
}

TEST_CASE("no SAN at all where the profile derives none; the CN first whenever there is one") {
  PoolSpec spec = reference_spec();
  spec.certificates[0].profile.san_rules.clear();
  CHECK(derive_plan(spec, spec.servers[0], spec.certificates[0]).sans.empty());
  spec.certificates[0].profile.san_rules = name_rules({"{server_fqdn}"});
  CHECK(san_names(derive_plan(spec, spec.servers[0], spec.certificates[0])) ==
        std::vector<std::string>{"ocspool.company.local", "ocssrv01.company.local"});
}

TEST_CASE("a shared certificate's plan is the pool's: its files, the spec's key, every member") {
  PoolSpec spec = reference_spec();
  ServerSpec second;
  second.fqdn = "ocssrv02.company.local";
  second.key.bits = 4096;  // a server's own key is for its own certificates
  spec.servers.push_back(second);
  spec.certificates[0].name = "edge-external";
  spec.certificates[0].profile.shared = true;
  spec.certificates[0].profile.san_rules = name_rules({"sip.{sip_domain}"});
  spec.request_date = "2026-12-03";
  CertificatePlan a = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CertificatePlan b = derive_plan(spec, spec.servers[1], spec.certificates[0]);
  CHECK(a.shared);
  CHECK(a.server_fqdn == "ocspool.company.local");
  CHECK(a.members == std::vector<std::string>{"ocssrv01.company.local", "ocssrv02.company.local"});
  CHECK(san_names(a) == san_names(b));
  CHECK(b.key.bits == spec.key.bits);
  CHECK(a.friendly_name == "ocspool.company.local edge-external 2026-12-03");
}

TEST_CASE("Client Authentication is requested and required only when its switch is on") {
  PoolSpec spec = reference_spec();
  Profile& profile = spec.certificates[0].profile;
  profile.eku_request = {"serverAuth"};
  profile.eku_require = {"serverAuth"};
  profile.eku_when = {{"public_im", {"clientAuth"}}};
  CertificatePlan plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(plan.eku == std::vector<std::string>{"serverAuth"});
  CHECK(plan.eku_required == std::vector<std::string>{"serverAuth"});
  spec.public_im = true;
  plan = derive_plan(spec, spec.servers[0], spec.certificates[0]);
  CHECK(plan.eku == std::vector<std::string>{"serverAuth", "clientAuth"});
  CHECK(plan.eku_required == std::vector<std::string>{"serverAuth", "clientAuth"});
}

TEST_CASE("an ECDSA key asks for no key encipherment (RFC 5480 3)") {
  PoolSpec spec = reference_spec();
  spec.servers[0].key = ecdsa("P-256");
  CHECK(derive_plan(spec, spec.servers[0], spec.certificates[0]).key_usage ==
        std::vector<std::string>{"digitalSignature"});
}
