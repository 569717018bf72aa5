#include "poolcert/model/dns_name.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "poolcert/model/error.hpp"

namespace poolcert {
namespace {

constexpr std::size_t kMaxName = 253;  // RFC 1035 2.3.4 (255 octets on the wire)
constexpr std::size_t kMaxLabel = 63;

bool is_ldh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

NameCheck fail(std::string reason) {
  return NameCheck{{}, std::move(reason), false};
}

// Checks one label of an already lower-cased name; returns an empty string when it is good.
std::string label_problem(std::string_view label) {
  if (label.empty()) return "empty label";
  if (label.size() > kMaxLabel) {
    return "label " + quote_value(label) + " is " + std::to_string(label.size()) +
           " characters (at most 63)";
  }
  auto bad = std::find_if_not(label.begin(), label.end(), is_ldh);
  if (bad != label.end()) {
    std::string shown = (*bad >= 0x21 && *bad < 0x7f)
                            ? std::string("'") + *bad + "'"
                            : "byte " + std::to_string(static_cast<unsigned char>(*bad));
    return "label " + quote_value(label) + " contains " + shown +
           " (only letters, digits and hyphens)";
  }
  if (label.front() == '-' || label.back() == '-') {
    return "label " + quote_value(label) + " starts or ends with a hyphen";
  }
  return {};
}

}  // namespace

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool same_dns_name(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto low = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return low(x) == low(y);
         });
}

bool is_ipv4_address(std::string_view text) {
  in_addr addr{};
  std::string copy(text);  // inet_pton reads up to a NUL: one inside the text must fail it
  return copy.find('\0') == std::string::npos && ::inet_pton(AF_INET, copy.c_str(), &addr) == 1;
}

std::optional<int> port_number(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int port = std::stoi(std::string(text));
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

NameCheck check_dns_name(std::string_view input, bool allow_wildcard) {
  if (input.empty()) return fail("empty name");
  std::string name = to_lower_ascii(input);
  if (name.back() == '.') name.pop_back();  // a fully qualified name's root dot
  if (name.empty()) return fail("empty name");
  if (name.size() > kMaxName) {
    return fail("name is " + std::to_string(name.size()) + " characters (at most 253)");
  }
  bool wildcard = false;
  std::size_t start = 0;
  if (name.rfind("*.", 0) == 0) {
    if (!allow_wildcard) return fail("wildcard name not allowed here");
    wildcard = true;
    start = 2;
  }
  if (name.find('*', start) != std::string::npos) {
    return fail(allow_wildcard ? "'*' is allowed only as the whole leftmost label"
                               : "wildcard name not allowed here");
  }
  std::size_t labels = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string_view label =
        std::string_view(name).substr(start, dot == std::string::npos ? dot : dot - start);
    if (std::string why = label_problem(label); !why.empty()) return fail(why);
    ++labels;
    if (dot == std::string::npos) {
      // A top-level domain is never all digits (RFC 3696 2): "10.0.0.50" is an IP address, and
      // a certificate or a record would carry it as a host name.
      if (std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fail("the last label '" + std::string(label) +
                    "' is all digits: an IP address or a number is not a DNS name");
      }
      break;
    }
    start = dot + 1;
  }
  if (wildcard && labels < 2) return fail("wildcard must cover at least two labels");
  return NameCheck{std::move(name), {}, wildcard};
}

}  // namespace poolcert
