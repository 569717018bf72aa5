#include <doctest/doctest.h>

#include <string>

#include "poolcert/model/error.hpp"
#include "poolcert/toml/spec_toml.hpp"
#include "temp_dir.hpp"

using namespace poolcert;

namespace {

const std::string kHead =
    "profile = \"ocs2007-enterprise-frontend\"\n"
    "[pool]\n"
    "fqdn = \"ocspool.company.local\"\n"
    "sip_domains = [\"company.local\", \"company.com\"]\n";
const std::string kServers =
    "[[server]]\n"
    "fqdn = \"ocssrv01.company.local\"\n"
    "[[server]]\n"
    "fqdn = \"ocssrv02.company.local\"\n";

ProfileSearch shipped() {
  return ProfileSearch{{POOLCERT_TEST_SOURCE "/templates/profiles"}};
}

// Loads `text` as a spec and returns the SpecError it must raise.
SpecError spec_error(const std::string& text) {
  test::TempDir dir;
  auto file = dir.write("pool.toml", text);
  try {
    load_spec(file, shipped());
  } catch (const SpecError& e) {
    return e;
  }
  FAIL("no SpecError for:\n" << text);
  return SpecError("", 0, 0, "", "");
}

}  // namespace

TEST_CASE("the shipped example loads with the values of DOMAIN.md") {
  PoolSpec spec = load_spec(POOLCERT_TEST_SOURCE "/templates/ocs2007-enterprise.toml", shipped());
  CHECK(spec.certificates.front().profile.name == "ocs2007-enterprise-frontend");
  CHECK(spec.pool_fqdn == "ocspool.company.local");
  CHECK(spec.sip_domains == std::vector<std::string>{"company.local", "company.com"});
  CHECK(spec.key.type == KeyType::kRsa);
  CHECK(spec.key.bits == 2048);
  REQUIRE(spec.servers.size() == 2);
  CHECK(spec.servers[1].fqdn == "ocssrv02.company.local");
  CHECK(spec.output_dir.filename() == "out");
  CHECK(spec.output_dir.parent_path().filename() == "templates");  // relative to the spec
}

TEST_CASE("names are normalised and a server may have its own key") {
  test::TempDir dir;
  auto file = dir.write("pool.toml", kHead +
                                         "[[server]]\nfqdn = \"OCSSRV01.Company.Local.\"\n"
                                         "[server.key]\nbits = 4096\n");
  PoolSpec spec = load_spec(file, shipped());
  CHECK(spec.servers[0].fqdn == "ocssrv01.company.local");
  CHECK(spec.servers[0].key.bits == 4096);
  CHECK(spec.key.bits == 2048);
}

TEST_CASE("errors name the file, line:column and field") {
  SUBCASE("syntax") {
    SpecError e = spec_error("profile = \"x\"\n[pool]\nfqdn = a.b\n");
    CHECK(e.line() == 3);
    CHECK(e.column() == 8);
    CHECK(std::string(e.what()).find("TOML syntax error") != std::string::npos);
  }
  SUBCASE("unknown key in a server") {
    SpecError e = spec_error(kHead + "[[server]]\nfqnd = \"a.company.local\"\n");
    CHECK(e.field() == "server[0].fqnd");
    CHECK(e.line() == 6);
    CHECK(e.detail().rfind("unknown key", 0) == 0);
  }
  SUBCASE("unknown top-level key") {
    CHECK(spec_error("outputdir = \"x\"\n" + kHead + kServers).field() == "outputdir");
  }
  SUBCASE("missing pool.fqdn") {
    SpecError e = spec_error(
        "profile = \"ocs2007-enterprise-frontend\"\n[pool]\n"
        "sip_domains = [\"a.com\"]\n" +
        kServers);
    CHECK(e.field() == "pool.fqdn");
    CHECK(e.line() == 2);
  }
  SUBCASE("empty sip_domains") {
    SpecError e = spec_error(
        "profile = \"ocs2007-enterprise-frontend\"\n[pool]\n"
        "fqdn = \"p.a.com\"\nsip_domains = []\n" +
        kServers);
    CHECK(e.field() == "pool.sip_domains");
    CHECK(e.line() == 4);
  }
  SUBCASE("SIP domain twice") {
    SpecError e = spec_error(
        "profile = \"ocs2007-enterprise-frontend\"\n[pool]\n"
        "fqdn = \"p.a.com\"\nsip_domains = [\"a.com\", \"A.com\"]\n" +
        kServers);
    CHECK(e.field() == "pool.sip_domains[1]");
    CHECK(e.detail().find("twice") != std::string::npos);
  }
  SUBCASE("server twice") {
    SpecError e = spec_error(kHead + kServers + "[[server]]\nfqdn = \"OCSSRV01.company.local\"\n");
    CHECK(e.field() == "server[2].fqdn");
    CHECK(e.line() == 10);
  }
  SUBCASE("no servers") {
    SpecError e = spec_error(kHead);
    CHECK(e.field() == "server");
    CHECK(e.line() == 0);
  }
  SUBCASE("bad DNS name") {
    SpecError e = spec_error(kHead + "[[server]]\nfqdn = \"-bad.company.local\"\n");
    CHECK(e.field() == "server[0].fqdn");
    CHECK(e.column() == 8);
  }
  SUBCASE("wildcard the profile forbids") {
    SpecError e = spec_error(kHead + kServers + "extra_sans = [\"*.company.local\"]\n");
    CHECK(e.field() == "server[1].extra_sans[0]");
    CHECK(e.detail().find("wildcard") != std::string::npos);
  }
  SUBCASE("unknown profile") {
    SpecError e =
        spec_error("profile = \"lync2099\"\n" + kHead.substr(kHead.find('\n') + 1) + kServers);
    CHECK(e.field() == "profile");
    CHECK(e.detail().find("unknown profile 'lync2099'") != std::string::npos);
  }
  SUBCASE("RSA under 2048") {
    SpecError e = spec_error(kHead + "[key]\ntype = \"rsa\"\nbits = 1024\n" + kServers);
    CHECK(e.field() == "key.bits");
    CHECK(e.detail().find("at least 2048") != std::string::npos);
  }
  SUBCASE("a key the profile does not allow") {
    SpecError e = spec_error(kHead + "[key]\ntype = \"ecdsa\"\ncurve = \"P-256\"\n" + kServers);
    CHECK(e.field() == "key.type");  // the profile allows no ECDSA key at all
    CHECK(e.line() == 6);
    CHECK(e.detail().find("not allowed by profile ocs2007-enterprise-frontend") !=
          std::string::npos);
  }
  SUBCASE("a bad profile points at the spec's profile line") {
    test::TempDir dir;
    dir.write("profiles/broken.toml", "[subject]\ncn = \"{pool}\"\n");
    auto file = dir.write("pool.toml",
                          "profile = \"broken\"\n" + kHead.substr(kHead.find('\n') + 1) + kServers);
    try {
      load_spec(file, shipped());
      FAIL("no error");
    } catch (const SpecError& e) {
      CHECK(e.field() == "profile");
      CHECK(std::string(e.what()).find("broken.toml") != std::string::npos);
    }
  }
}

TEST_CASE("a profile given as a path is read relative to the spec") {
  test::TempDir dir;
  dir.write("rules/mine.toml",
            "key_usage = [\"digitalSignature\"]\n[subject]\ncn = \"{server_fqdn}\"\n"
            "[san]\ndns = []\n[eku]\nrequest = [\"serverAuth\"]\n"
            "[key]\nallowed = [{ type = \"ecdsa\", curves = [\"P-256\"] }]\n"
            "default = { type = \"ecdsa\", curve = \"P-256\" }\n");
  auto file = dir.write("pool.toml", "profile = \"rules/mine.toml\"\n" +
                                         kHead.substr(kHead.find('\n') + 1) + kServers);
  PoolSpec spec = load_spec(file, ProfileSearch{});
  CHECK(spec.certificates.front().profile.name == "mine");
  CHECK(spec.key.type == KeyType::kEcdsa);
  CHECK(spec.key.curve == "P-256");
}

TEST_CASE("every shipped profile loads") {
  for (const auto& entry :
       std::filesystem::directory_iterator(POOLCERT_TEST_SOURCE "/templates/profiles")) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path());
    Profile p = load_profile(entry.path());
    CHECK_FALSE(p.cn_pattern.empty());
    CHECK_FALSE(p.allowed_keys.empty());
  }
}
