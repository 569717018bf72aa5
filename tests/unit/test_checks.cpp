// The one table of verify's checks (checks.hpp): the README's check table is this table, and
// every check verify runs is in it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "poolcert/model/checks.hpp"

using namespace poolcert;

namespace {

// The rows of README.md's table headed "| check | fails when |": (id, rule).
std::vector<std::pair<std::string, std::string>> readme_check_table() {
  std::ifstream in(POOLCERT_TEST_SOURCE "/README.md");
  REQUIRE(in);
  std::vector<std::pair<std::string, std::string>> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| check | fails when |", 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside || line.rfind("| ---", 0) == 0) continue;
    if (line.rfind("| `", 0) != 0) break;  // the table ends
    std::size_t id_end = line.find("` | ");
    REQUIRE(id_end != std::string::npos);
    std::string rule = line.substr(id_end + 4);
    REQUIRE(rule.size() >= 2);
    rule.erase(rule.size() - 2);  // the closing " |"
    rows.emplace_back(line.substr(3, id_end - 3), rule);
  }
  return rows;
}

}  // namespace

TEST_CASE("the README's check table is the catalog, row for row") {
  std::vector<std::pair<std::string, std::string>> readme = readme_check_table();
  std::vector<std::pair<std::string, std::string>> catalog;
  for (const CheckInfo& c : check_catalog()) catalog.emplace_back(c.id, c.rule);
  CHECK(readme.size() == catalog.size());
  for (std::size_t i = 0; i < std::min(readme.size(), catalog.size()); ++i) {
    CAPTURE(i);
    CHECK(readme[i].first == catalog[i].first);
    CHECK(readme[i].second == catalog[i].second);
  }
}

TEST_CASE("check ids are unique and known") {
  std::vector<std::string_view> seen;
  for (const CheckInfo& c : check_catalog()) {
    CAPTURE(c.id);
    CHECK(std::find(seen.begin(), seen.end(), c.id) == seen.end());
    CHECK_FALSE(c.rule.empty());
    seen.push_back(c.id);
    CHECK(is_known_check(c.id));
  }
  CHECK_FALSE(is_known_check("eku.clientauth"));
}
