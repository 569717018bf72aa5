#include <doctest/doctest.h>

#include <string>

#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"

using poolcert::check_dns_name;

TEST_CASE("a good name is lower-cased and loses its trailing dot") {
  auto c = check_dns_name("OCSPool.Company.Local.");
  CHECK(c.ok());
  CHECK(c.name == "ocspool.company.local");
  CHECK_FALSE(c.wildcard);
}

TEST_CASE("single-label and digit names are host names") {
  CHECK(check_dns_name("localhost").ok());
  CHECK(check_dns_name("10gw.example").ok());
  CHECK(check_dns_name("a-b.c").ok());
  CHECK(check_dns_name("123.example").ok());  // digits are fine in a label, but not in the last
}

TEST_CASE("an IP address or an all-digit last label is not a DNS name") {
  for (const char* name : {"10.0.0.50", "10.0.0.5.", "1234", "srv.company.99"}) {
    CAPTURE(name);
    CHECK(check_dns_name(name).reason.find("all digits") != std::string::npos);
  }
}

TEST_CASE("each kind of bad name is refused with its reason") {
  CHECK(check_dns_name("").reason == "empty name");
  CHECK(check_dns_name(".").reason == "empty name");
  CHECK(check_dns_name("a..b").reason == "empty label");
  CHECK(check_dns_name(".a.b").reason == "empty label");
  CHECK(check_dns_name("a.b..").reason == "empty label");
  CHECK(check_dns_name("-a.b").reason.find("hyphen") != std::string::npos);
  CHECK(check_dns_name("a-.b").reason.find("hyphen") != std::string::npos);
  CHECK(check_dns_name("a_b.c").reason.find("'_'") != std::string::npos);
  CHECK(check_dns_name("a b.c").reason.find("' '") == std::string::npos);  // not printable as is
  CHECK_FALSE(check_dns_name("a b.c").ok());
  CHECK_FALSE(check_dns_name(std::string("a\0b.c", 5)).ok());
  CHECK_FALSE(check_dns_name("caf\xc3\xa9.fr").ok());  // IDNs must come as A-labels
}

TEST_CASE("label and name lengths are bounded at 63 and 253") {
  std::string label63(63, 'a');
  CHECK(check_dns_name(label63 + ".com").ok());
  CHECK(check_dns_name(label63 + "a.com").reason.find("at most 63") != std::string::npos);
  std::string name253;
  while (name253.size() < 253) name253 += name253.empty() ? "a" : ".a";
  REQUIRE(name253.size() == 253);
  CHECK(check_dns_name(name253).ok());
  CHECK(check_dns_name(name253 + ".").ok());  // the root dot does not count
  CHECK(check_dns_name(name253 + "b").reason.find("at most 253") != std::string::npos);
}

TEST_CASE("wildcards only where allowed, and only as the whole leftmost label") {
  CHECK_FALSE(check_dns_name("*.company.com").ok());
  auto w = check_dns_name("*.Company.com", true);
  CHECK(w.ok());
  CHECK(w.wildcard);
  CHECK(w.name == "*.company.com");
  CHECK_FALSE(check_dns_name("a*.company.com", true).ok());
  CHECK_FALSE(check_dns_name("a.*.company.com", true).ok());
  CHECK_FALSE(check_dns_name("*.com", true).ok());
  CHECK_FALSE(check_dns_name("*", true).ok());
}

TEST_CASE("names compare without regard to case") {
  CHECK(poolcert::same_dns_name("SIP.company.com", "sip.Company.COM"));
  CHECK_FALSE(poolcert::same_dns_name("sip.company.com", "sip.company.co"));
}

TEST_CASE("quoted: error messages show user text on one line, cut when long") {
  CHECK(poolcert::quote_value("company.local") == "'company.local'");
  CHECK(poolcert::quote_value("a\nb\x1b[31m") == "'a\\x0ab\\x1b[31m'");
  std::string long_text(3000, 'a');
  std::string shown = poolcert::quote_value(long_text);
  CHECK(shown == "'" + std::string(64, 'a') + "'... (3000 characters)");
  CHECK(poolcert::quote_value("caf\xc3\xa9", 10) == "'caf\\xc3\\xa9'");
}

TEST_CASE("one_line: control characters escaped, UTF-8 kept, for a diagnostic line") {
  CHECK(poolcert::one_line("a\nb\x7f") == "a\\x0ab\\x7f");
  CHECK(poolcert::one_line(std::string("x\0y", 3)) == "x\\x00y");
  CHECK(poolcert::one_line("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("is_ipv4_address and port_number take only what they say") {
  using poolcert::is_ipv4_address;
  using poolcert::port_number;
  CHECK(is_ipv4_address("10.0.0.50"));
  CHECK_FALSE(is_ipv4_address(std::string("10.0.0.50\0x", 11)));
  CHECK_FALSE(is_ipv4_address("10.0.0.50 "));
  CHECK_FALSE(is_ipv4_address("not-an-ip"));
  CHECK_FALSE(is_ipv4_address("10.0.0"));
  CHECK(port_number("5061") == 5061);
  CHECK(port_number("1") == 1);
  CHECK(port_number("65535") == 65535);
  for (const char* bad :
       {"0", "65536", "99999999999999", "-5", "+5", "5061x", "", " 5061", "10.0.0.50"}) {
    CAPTURE(bad);
    CHECK_FALSE(port_number(bad).has_value());
  }
}
