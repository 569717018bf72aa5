#include "poolcert/model/spec.hpp"

#include <algorithm>

namespace poolcert {

const char* key_type_name(KeyType type) noexcept {
  return type == KeyType::kRsa ? "rsa" : "ecdsa";
}

std::string describe_key(const KeySpec& key) {
  return key.type == KeyType::kRsa ? "RSA " + std::to_string(key.bits) : "ECDSA " + key.curve;
}

bool keys_allow(const std::vector<KeyRule>& rules, const KeySpec& key) {
  return std::any_of(rules.begin(), rules.end(), [&](const KeyRule& rule) {
    if (rule.type != key.type) return false;
    if (key.type == KeyType::kRsa) {
      return std::find(rule.rsa_bits.begin(), rule.rsa_bits.end(), key.bits) != rule.rsa_bits.end();
    }
    return std::find(rule.curves.begin(), rule.curves.end(), key.curve) != rule.curves.end();
  });
}

bool profile_allows_key(const Profile& profile, const KeySpec& key) {
  return keys_allow(profile.allowed_keys, key);
}

std::vector<KeyRule> intersect_keys(const std::vector<KeyRule>& rules,
                                    const std::vector<std::vector<KeyRule>>& others) {
  auto everywhere = [&](const KeySpec& key) {
    return std::all_of(others.begin(), others.end(),
                       [&](const std::vector<KeyRule>& o) { return keys_allow(o, key); });
  };
  std::vector<KeyRule> out;
  for (const KeyRule& rule : rules) {
    KeyRule kept;
    kept.type = rule.type;
    for (int bits : rule.rsa_bits) {
      if (everywhere(KeySpec{KeyType::kRsa, bits, "", false})) kept.rsa_bits.push_back(bits);
    }
    for (const std::string& curve : rule.curves) {
      int bits = curve == "P-384" ? 384 : 256;
      if (everywhere(KeySpec{KeyType::kEcdsa, bits, curve, false})) kept.curves.push_back(curve);
    }
    if (!kept.rsa_bits.empty() || !kept.curves.empty()) out.push_back(std::move(kept));
  }
  return out;
}

const char* check_level_name(CheckLevel level) noexcept {
  switch (level) {
    case CheckLevel::kFail:
      return "fail";
    case CheckLevel::kWarn:
      return "warn";
    case CheckLevel::kIgnore:
      return "ignore";
  }
  return "?";
}

bool applies_to(const Profile& profile, const std::string& product) {
  return profile.products.empty() || std::find(profile.products.begin(), profile.products.end(),
                                               product) != profile.products.end();
}

bool is_certificate_name(const std::string& name) {
  if (name.empty() || name.size() > 32 || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string template_name_problem(const std::string& name) {
  if (name.empty()) return "empty template name";
  if (name.size() > 64) return "a template name of more than 64 characters";
  bool printable = std::all_of(name.begin(), name.end(),
                               [](char c) { return c >= 0x20 && c < 0x7f && c != '"'; });
  return printable ? "" : "only printable ASCII without quotes in a template name";
}

const std::string& effective_template(const PoolSpec& spec, const Profile& profile) {
  return spec.template_name.empty() ? profile.template_name : spec.template_name;
}

std::string describe_allowed_keys(const Profile& profile) {
  return describe_keys(profile.allowed_keys);
}

std::string describe_keys(const std::vector<KeyRule>& rules) {
  std::string out;
  for (const KeyRule& rule : rules) {
    if (!out.empty()) out += ", ";
    if (rule.type == KeyType::kRsa) {
      out += "RSA ";
      for (std::size_t i = 0; i < rule.rsa_bits.size(); ++i) {
        out += (i ? "/" : "") + std::to_string(rule.rsa_bits[i]);
      }
    } else {
      out += "ECDSA ";
      for (std::size_t i = 0; i < rule.curves.size(); ++i) out += (i ? "/" : "") + rule.curves[i];
    }
  }
  return out;
}

}  // namespace poolcert
