// The TOML layer's shared reader, internal to src/core: parsing a file with toml11 and reading
// typed values, every mistake reported as a SpecError (file:line:column, dotted field). Only
// spec_toml.cpp, profile_toml.cpp and toml_reader.cpp include it: nothing else sees TOML.
#pragma once

#include <toml.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/model/spec.hpp"

namespace poolcert::toml_layer {

// Ordered tables, so that "the first unknown key" is the same on every run.
using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

constexpr std::uintmax_t kMaxFileBytes = 1 << 20;  // a spec of 1 MiB is a mistake, not a pool

// Reader reads one TOML file and reports mistakes in it with their place.
class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

  // Parses the file; the returned root must outlive the Reader's use of it.
  Value parse() const;
  // Parses `text` as if it were the file (data built into poolcert: templates/products.toml).
  Value parse_text(const std::string& text) const;
  void set_root(const Value* root) { root_ = root; }
  const std::filesystem::path& file() const { return file_; }

  [[noreturn]] void fail(const Value& at, const std::string& field, const std::string& msg) const {
    toml::source_location loc = at.location();
    // The root table's place is 1:1, which would point at an unrelated line: give none.
    bool known = &at != root_ && loc.file_name() == file_.string();
    throw SpecError(file_, known ? loc.line() : 0, known ? loc.column() : 0, field, msg);
  }

  // Fails on the first key of `table` not in `known`: a typo must not silently drop a name.
  void reject_unknown(const Value& table, const std::string& prefix,
                      std::initializer_list<const char*> known) const {
    for (const auto& entry : table.as_table()) {
      const std::string& key = entry.first;  // clang 14 cannot capture a structured binding
      const Value& value = entry.second;
      bool ok = std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; });
      if (!ok) {
        std::string allowed;
        for (const char* k : known) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
        fail(value, prefix + key, "unknown key (allowed here: " + allowed + ")");
      }
    }
  }

  const Value* find(const Value& table, const char* key) const {
    const auto& t = table.as_table();
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
  }

  const Value& require(const Value& table, const char* key, const std::string& field) const {
    const Value* v = find(table, key);
    if (v == nullptr) fail(table, field, "missing (required)");
    return *v;
  }

  const Value& expect(const Value& v, toml::value_t type, const std::string& field) const {
    if (v.type() != type) {
      std::ostringstream msg;
      msg << "expected " << type << ", found " << v.type();
      fail(v, field, msg.str());
    }
    return v;
  }

  std::string string_at(const Value& v, const std::string& field) const {
    return expect(v, toml::value_t::string, field).as_string().str;
  }

  std::vector<std::string> strings_at(const Value& v, const std::string& field) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; const Value& item : expect(v, toml::value_t::array, field).as_array()) {
      out.push_back(string_at(item, field + "[" + std::to_string(i++) + "]"));
    }
    return out;
  }

  // Validates a DNS name in the spec and returns it normalised. `wildcard_rule` says why a
  // wildcard is refused here when `allow_wildcard` is false.
  std::string dns_name_at(const Value& v, const std::string& field, bool allow_wildcard,
                          const std::string& wildcard_rule) const {
    std::string raw = string_at(v, field);
    NameCheck check = check_dns_name(raw, allow_wildcard);
    if (!check.ok()) {
      if (!allow_wildcard && raw.find('*') != std::string::npos) {
        fail(v, field, quote_value(raw) + ": wildcard not allowed (" + wildcard_rule + ")");
      }
      fail(v, field, quote_value(raw) + " is not a valid DNS name: " + check.reason);
    }
    // S1 (and L10): single-labeled domains and short names are not supported: FQDNs only.
    std::string_view rest = check.wildcard ? std::string_view(check.name).substr(2) : check.name;
    if (rest.find('.') == std::string_view::npos) {
      fail(v, field,
           quote_value(raw) +
               " is a single-label name: Lync and Skype for Business need fully "
               "qualified names (S1: single-label domains are not supported)");
    }
    return check.name;
  }

 private:
  std::filesystem::path file_;
  const Value* root_ = nullptr;
};

// Typed readers shared by specs and profiles; each fails with the value's place.
std::string ipv4_at(const Reader& r, const Value& v, const std::string& field);
int int_at(const Reader& r, const Value& v, const std::string& field, std::int64_t low,
           std::int64_t high);
KeyType key_type_at(const Reader& r, const Value& v, const std::string& field);
int rsa_bits_at(const Reader& r, const Value& v, const std::string& field);
std::string curve_at(const Reader& r, const Value& v, const std::string& field);
// Reads a [key] table over `base` (fields not given keep the base's, except that a change of
// type resets the size to that type's default).
KeySpec key_at(const Reader& r, const Value& table, const std::string& prefix, KeySpec base);
std::string pattern_at(const Reader& r, const Value& v, const std::string& field);
bool bool_at(const Reader& r, const Value& v, const std::string& field);
std::vector<KeyRule> key_rules_at(const Reader& r, const Value& v, const std::string& field);

}  // namespace poolcert::toml_layer
