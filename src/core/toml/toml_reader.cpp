// The TOML layer's reader: parsing with toml11 and the typed readers of toml_reader.hpp.
#include "toml/toml_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "poolcert/model/derive.hpp"
#include "poolcert/sys/file_io.hpp"

namespace poolcert::toml_layer {
namespace fs = std::filesystem;
namespace {

// Finds toml11's " 3 | fqdn = a.b" line followed by "   |        ^--- here": the line number and
// the caret's column. By hand: libstdc++'s std::regex recurses once per character and overflowed
// the stack on a long line (reproducer: tests/fuzz/regressions/fuzz_spec/).
bool find_caret(const std::string& what, unsigned& line, unsigned& column) {
  constexpr auto npos = std::string::npos;
  for (std::size_t at = what.find('\n'); at != npos; at = what.find('\n', at + 1)) {
    std::size_t digits = what.find_first_not_of(' ', at + 1);
    std::size_t digits_end = what.find_first_not_of("0123456789", digits);
    if (digits == npos || digits_end == npos || digits_end == digits || digits_end - digits > 9 ||
        what.compare(digits_end, 3, " | ") != 0) {
      continue;
    }
    std::size_t next = what.find('\n', digits_end);
    std::size_t bar = next == npos ? npos : what.find_first_not_of(' ', next + 1);
    if (bar == npos || what[bar] != '|') continue;
    std::size_t caret = what.find_first_not_of(' ', bar + 1);
    if (caret == npos || what[caret] != '^') continue;
    line = static_cast<unsigned>(std::stoul(what.substr(digits, digits_end - digits)));
    column = static_cast<unsigned>(caret - bar - 1);  // "| " then caret: spaces less one, +1
    return true;
  }
  return false;
}

// Turns toml11's multi-line syntax message into one line and the caret's place.
[[noreturn]] void throw_syntax_error(const fs::path& file, const toml::exception& e) {
  std::string what = e.what();
  unsigned line = e.location().line();
  unsigned column = e.location().column();
  find_caret(what, line, column);
  std::string first = what.substr(0, what.find('\n'));
  if (first.rfind("[error] ", 0) == 0) first.erase(0, 8);
  throw SpecError(file, line, column, "", "TOML syntax error: " + first);
}

// toml11 parses arrays, inline tables and dotted keys recursively, so deep nesting overflowed
// the stack (reproducers: tests/fuzz/regressions/fuzz_spec/; a key of 100000 dotted parts).
// Refuses more than kMaxNesting open brackets and braces, or dots in one key, outside strings
// and comments, naming the line where the limit is passed.
constexpr int kMaxNesting = 64;

void check_nesting(const fs::path& file, const std::string& text) {
  int depth = 0;
  int dots = 0;  // in this key: a dotted key or table header nests one table per part
  unsigned line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      dots = 0;
    } else if (c == '=' || c == ',') {  // a key ends at its '='; values (1.5, 1.5, ...) are apart
      dots = 0;
    } else if (c == '.') {
      if (++dots > kMaxNesting) {
        throw SpecError(file, line, 0, "",
                        "a key of more than " + std::to_string(kMaxNesting) + " dotted parts");
      }
    } else if (c == '#') {
      i = std::min(text.find('\n', i), text.size()) - 1;  // the newline itself is counted next
    } else if (c == '"' || c == '\'') {
      std::string quote(text.compare(i, 3, std::string(3, c)) == 0 ? 3 : 1, c);
      std::size_t end = i + quote.size();
      while (end < text.size() && text.compare(end, quote.size(), quote) != 0 &&
             (quote.size() == 3 || text[end] != '\n')) {  // a one-line string ends at its line
        end += (c == '"' && text[end] == '\\') ? 2 : 1;   // basic strings have escapes
      }
      end = std::min(end + quote.size(), text.size());
      line += static_cast<unsigned>(std::count(text.begin() + i, text.begin() + end, '\n'));
      i = end - 1;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) {
        throw SpecError(
            file, line, 0, "",
            "arrays and tables nested more than " + std::to_string(kMaxNesting) + " deep");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

}  // namespace

Value Reader::parse() const {
  // The shared reader: a missing file or a folder is an IoError, more than 1 MiB a BadFileError
  // (a spec of 1 MiB is a mistake, not a pool).
  return parse_text(read_input_file(file_, kMaxFileBytes));
}

Value Reader::parse_text(const std::string& text) const {
  check_nesting(file_, text);
  std::istringstream stream(text);
  try {
    return toml::parse<toml::discard_comments, std::map, std::vector>(stream, file_.string());
  } catch (const toml::exception& e) {
    throw_syntax_error(file_, e);
  } catch (const std::exception& e) {  // toml11 reports some malformed input as runtime_error
    throw SpecError(file_, 0, 0, "", std::string("TOML syntax error: ") + e.what());
  }
}

std::string ipv4_at(const Reader& r, const Value& v, const std::string& field) {
  std::string text = r.string_at(v, field);
  if (!is_ipv4_address(text)) {
    r.fail(v, field, quote_value(text) + " is not an IPv4 address (dotted quad)");
  }
  return text;
}

int int_at(const Reader& r, const Value& v, const std::string& field, std::int64_t low,
           std::int64_t high) {
  std::int64_t n = r.expect(v, toml::value_t::integer, field).as_integer();
  if (n < low || n > high) {
    r.fail(v, field,
           std::to_string(n) + " is out of range (" + std::to_string(low) + " to " +
               std::to_string(high) + ")");
  }
  return static_cast<int>(n);
}

KeyType key_type_at(const Reader& r, const Value& v, const std::string& field) {
  std::string s = r.string_at(v, field);
  if (s == "rsa") return KeyType::kRsa;
  if (s == "ecdsa") return KeyType::kEcdsa;
  r.fail(v, field, quote_value(s) + " is not a key type (rsa or ecdsa)");
}

int rsa_bits_at(const Reader& r, const Value& v, const std::string& field) {
  std::int64_t bits = r.expect(v, toml::value_t::integer, field).as_integer();
  if (bits < 2048) {
    r.fail(v, field, "RSA " + std::to_string(bits) + " is too weak: at least 2048 bits");
  }
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    r.fail(v, field,
           std::to_string(bits) + " is not an RSA size poolcert makes (2048, 3072, 4096)");
  }
  return static_cast<int>(bits);
}

std::string curve_at(const Reader& r, const Value& v, const std::string& field) {
  std::string c = r.string_at(v, field);
  if (c != "P-256" && c != "P-384")
    r.fail(v, field, quote_value(c) + " is not a curve (P-256, P-384)");
  return c;
}

KeySpec key_at(const Reader& r, const Value& table, const std::string& prefix, KeySpec base) {
  r.expect(table, toml::value_t::table, prefix.substr(0, prefix.size() - 1));
  r.reject_unknown(table, prefix, {"type", "bits", "curve", "encrypt"});
  KeySpec key = base;
  if (const Value* t = r.find(table, "type")) {
    key.type = key_type_at(r, *t, prefix + "type");
    if (key.type != base.type) {
      key.bits = key.type == KeyType::kRsa ? 2048 : 256;
      key.curve = key.type == KeyType::kRsa ? "" : "P-256";
    }
  }
  const Value* bits = r.find(table, "bits");
  const Value* curve = r.find(table, "curve");
  if (key.type == KeyType::kRsa) {
    if (curve != nullptr) r.fail(*curve, prefix + "curve", "an RSA key has no curve (use bits)");
    if (bits != nullptr) key.bits = rsa_bits_at(r, *bits, prefix + "bits");
  } else {
    if (bits != nullptr) r.fail(*bits, prefix + "bits", "an ECDSA key's size is its curve");
    if (curve != nullptr) key.curve = curve_at(r, *curve, prefix + "curve");
    key.bits = key.curve == "P-384" ? 384 : 256;
  }
  if (const Value* e = r.find(table, "encrypt")) {
    key.encrypt = r.expect(*e, toml::value_t::boolean, prefix + "encrypt").as_boolean();
  }
  return key;
}

bool bool_at(const Reader& r, const Value& v, const std::string& field) {
  return r.expect(v, toml::value_t::boolean, field).as_boolean();
}

namespace {

KeyRule key_rule_at(const Reader& r, const Value& v, const std::string& field) {
  r.expect(v, toml::value_t::table, field);
  r.reject_unknown(v, field + ".", {"type", "bits", "curves"});
  KeyRule rule;
  rule.type = key_type_at(r, r.require(v, "type", field + ".type"), field + ".type");
  if (rule.type == KeyType::kRsa) {
    const Value& bits = r.require(v, "bits", field + ".bits");
    for (std::size_t i = 0;
         const Value& b : r.expect(bits, toml::value_t::array, field + ".bits").as_array()) {
      rule.rsa_bits.push_back(rsa_bits_at(r, b, field + ".bits[" + std::to_string(i++) + "]"));
    }
  } else {
    const Value& curves = r.require(v, "curves", field + ".curves");
    for (std::size_t i = 0;
         const Value& c : r.expect(curves, toml::value_t::array, field + ".curves").as_array()) {
      rule.curves.push_back(curve_at(r, c, field + ".curves[" + std::to_string(i++) + "]"));
    }
  }
  return rule;
}

}  // namespace

std::vector<KeyRule> key_rules_at(const Reader& r, const Value& v, const std::string& field) {
  std::vector<KeyRule> rules;
  for (std::size_t i = 0; const Value& rule : r.expect(v, toml::value_t::array, field).as_array()) {
    rules.push_back(key_rule_at(r, rule, field + "[" + std::to_string(i++) + "]"));
  }
  if (rules.empty()) r.fail(v, field, "empty: allow some key");
  return rules;
}

std::string pattern_at(const Reader& r, const Value& v, const std::string& field) {
  std::string p = r.string_at(v, field);
  if (std::string why = pattern_problem(p); !why.empty()) r.fail(v, field, why);
  return p;
}

}  // namespace poolcert::toml_layer
