// The rules of a spec across its tables, once they are read (spec_toml.cpp): the product and its
// key rules, Mobility, where wildcards and extra names may go, DNS load balancing, names a role
// keeps to itself, and switches no profile of the spec uses. Each mistake is a SpecError at the
// value that makes it so.
#include <algorithm>
#include <set>

#include "poolcert/model/derive.hpp"
#include "poolcert/toml/spec_toml.hpp"
#include "toml/spec_toml_internal.hpp"

namespace poolcert::toml_layer {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string applies_to_text(const Profile& p) {
  std::string out = "it applies to " + (p.products.empty() ? "every product" : join(p.products));
  if (!p.products_source.empty()) out += "; " + p.products_source;
  return out;
}

const Value* pool_value(const Reader& r, const Value& root, const char* key) {
  const Value* pool = r.find(root, "pool");
  return pool == nullptr ? nullptr : r.find(*pool, key);
}

// A switch turned on, or a field given, that no profile of the spec uses would be silently
// ignored: refused instead.
void check_fields_used(const Reader& r, const Value& root, const PoolSpec& spec) {
  std::set<std::string> used = placeholders_used(spec);
  std::string profiles;
  for (const CertificateSpec& c : spec.certificates) {
    profiles += (profiles.empty() ? "" : ", ") + c.profile.name;
  }
  struct Field {
    const char* table;
    const char* key;
    const char* placeholder;
    bool given;
  };
  const Value* pool = r.find(root, "pool");
  const Value* dns = r.find(root, "dns");
  bool mobility_asked = spec.mobility && pool != nullptr && r.find(*pool, "mobility") != nullptr;
  // Switches and settings ask for an effect; facts that no profile uses (an address, a web
  // FQDN) are only a warning (unused_field_warnings, shown by plan and dns).
  const Field fields[] = {
      {"pool", "mobility", "mobility", mobility_asked},
      {"pool", "public_im", "public_im", spec.public_im},
      {"pool", "dns_load_balancing", "dns_load_balancing", spec.dns_load_balancing},
      {"dns", "sipinternal", "sipinternal", spec.dns.sipinternal},
      {"dns", "sipexternal", "sipexternal", spec.dns.sipexternal},
      {"dns", "lyncdiscover_cname", "lyncdiscover_cname", spec.dns.lyncdiscover_cname},
      {"dns", "sip_internal_tcp", "sip_internal_tcp", spec.dns.sip_internal_tcp},
      {"dns", "sign_in_port", "sign_in_port",
       dns != nullptr && r.find(*dns, "sign_in_port") != nullptr},
  };
  for (const Field& f : fields) {
    if (!f.given || used.count(f.placeholder) != 0) continue;
    const Value* table = r.find(root, f.table);
    const Value* v = table == nullptr ? nullptr : r.find(*table, f.key);
    r.fail(v != nullptr ? *v : root, std::string(f.table) + "." + f.key,
           "no profile of this spec uses it (profiles: " + profiles + "): it would change nothing");
  }
}

// A name a profile requires (`required = true`: S2's web conferencing FQDN on the Edge
// certificate, the external web FQDN of a web external certificate) must be derived: a spec
// that does not give its field is refused, not silently given a certificate without it.
void check_required_names(const Reader& r, const Value& root, const PoolSpec& spec) {
  if (spec.servers.empty()) return;
  PatternVars vars = pattern_vars(spec, spec.servers.front());
  for (const CertificateSpec& cert : spec.certificates) {
    for (const NameRule& rule : cert.profile.san_rules) {
      if (!rule.required || !condition_holds(rule.condition, vars)) continue;
      if (!expand_pattern(rule.pattern, vars).empty()) continue;
      std::string missing;
      for (const std::string& p : pattern_placeholders(rule.pattern)) {
        if (vars[p].empty() && missing.empty()) missing = p;
      }
      std::string field = placeholder_field(missing).dotted();
      const Value* pool = r.find(root, "pool");
      r.fail(pool != nullptr ? *pool : root, field,
             "missing: profile " + cert.profile.name + " needs " + rule.pattern + " on the " +
                 (cert.name.empty() ? "" : cert.name + " ") + "certificate" +
                 (rule.why.empty() ? "" : " (" + rule.why + ")"));
    }
  }
}

void check_wildcard_used(const Reader& r, const Value& root, const PoolSpec& spec) {
  if (spec.simple_urls.wildcard.empty()) return;
  bool taken = std::any_of(spec.certificates.begin(), spec.certificates.end(),
                           [](const CertificateSpec& c) { return c.profile.allow_wildcards; });
  if (taken) return;
  std::vector<std::string> names;
  for (const CertificateSpec& c : spec.certificates) names.push_back(c.profile.name);
  r.fail(*r.find(*r.find(root, "simple_urls"), "wildcard"), "simple_urls.wildcard",
         "no certificate of this spec may carry a wildcard (profiles " + join(names) +
             "; DOMAIN.md Wildcards: only web services and reverse-proxy certificates, never "
             "default, Edge or internal ones)");
}

// S3: "If you are using DNS load balancing on this pool, your Front End pool and internal web
// farm cannot have the same FQDN"; and every member needs its address.
void check_dns_load_balancing(const Reader& r, const Value& root, const PoolSpec& spec) {
  if (!spec.dns_load_balancing) return;
  if (!spec.web_fqdn.empty() && spec.web_fqdn == spec.pool_fqdn) {
    r.fail(*pool_value(r, root, "web_fqdn"), "pool.web_fqdn",
           spec.web_fqdn +
               " is also the pool FQDN: with DNS load balancing the pool and its "
               "internal web farm cannot have the same FQDN (S3)");
  }
  const Value& servers = *r.find(root, "server");
  for (std::size_t i = 0; i < spec.servers.size(); ++i) {
    if (!spec.servers[i].address.empty()) continue;
    r.fail(servers.as_array()[i], "server[" + std::to_string(i) + "].address",
           "missing: with [pool] dns_load_balancing = true the pool FQDN resolves to each "
           "server's address (S3), so every server needs one");
  }
}

// A profile's `exclusive` names (the Director's external web FQDN) may be on no certificate of
// another role in the same spec (S1: "The Director external web FQDN must be different from the
// Front End pool or Front End Server").
void check_exclusive_names(const Reader& r, const Value& root, const PoolSpec& spec) {
  if (spec.servers.empty()) return;
  const ServerSpec& server = spec.servers.front();
  PatternVars vars = pattern_vars(spec, server);
  for (const CertificateSpec& owner : spec.certificates) {
    for (const std::string& pattern : owner.profile.exclusive) {
      for (const std::string& name : expand_pattern(pattern, vars)) {
        for (std::size_t i = 0; i < spec.certificates.size(); ++i) {
          const CertificateSpec& other = spec.certificates[i];
          if (other.profile.role == owner.profile.role) continue;
          CertificatePlan plan = derive_plan(spec, server, other);
          bool holds = std::any_of(plan.sans.begin(), plan.sans.end(),
                                   [&](const DerivedName& d) { return d.name == name; });
          if (!holds) continue;
          r.fail(certificate_place(r, root, i), certificate_field(root, i),
                 name + " (" + pattern + ") belongs to certificate " + owner.name + " (" +
                     owner.profile.role + ", profile " + owner.profile.name +
                     ") alone, but certificate " + other.name + " (" + other.profile.role +
                     ") also has it: " + owner.profile.source);
        }
      }
    }
  }
}

}  // namespace

std::string certificate_field(const Value& root, std::size_t index) {
  const auto& t = root.as_table();
  auto list = t.find("certificate");
  if (list == t.end()) return "profile";
  const auto& entry = list->second.as_array().at(index).as_table();
  return "certificate[" + std::to_string(index) + "]" +
         (entry.count("profile") != 0 ? ".profile" : "");
}

const Value& certificate_place(const Reader& r, const Value& root, std::size_t index) {
  const Value* list = r.find(root, "certificate");
  if (list == nullptr) return *r.find(root, "profile");
  const Value& entry = list->as_array().at(index);
  const Value* ref = r.find(entry, "profile");
  return ref != nullptr ? *ref : entry;
}

void apply_product(const Reader& r, const Value& root, PoolSpec& spec) {
  // Without `product`, the rules are those of every product all the profiles apply to; when no
  // profile names its products (a profile of the user's own), the profiles' own rules alone.
  bool restricted = false;
  if (const Value* v = r.find(root, "product")) {
    spec.product = r.string_at(*v, "product");
    if (find_product(spec.product) == nullptr) {
      r.fail(*v, "product",
             quote_value(spec.product) + " is not a product (" + product_names() + ")");
    }
    spec.rule_products = {spec.product};
    restricted = true;
  } else {
    for (const Product& p : known_products()) spec.rule_products.push_back(p.name);
  }
  for (std::size_t i = 0; i < spec.certificates.size(); ++i) {
    const Profile& profile = spec.certificates[i].profile;
    if (profile.products.empty()) continue;
    restricted = true;
    std::vector<std::string> kept;
    for (const std::string& p : spec.rule_products) {
      if (applies_to(profile, p)) kept.push_back(p);
    }
    if (kept.empty()) {
      r.fail(certificate_place(r, root, i), certificate_field(root, i),
             spec.product.empty()
                 ? "profile " + profile.name +
                       " shares no product with the spec's other "
                       "profiles (" +
                       join(spec.rule_products) + "; " + applies_to_text(profile) + ")"
                 : "profile " + profile.name + " does not apply to " + spec.product + " (" +
                       applies_to_text(profile) + ")");
    }
    spec.rule_products = std::move(kept);
  }
  if (!restricted) {
    spec.rule_products.clear();
    return;
  }
  std::vector<std::vector<KeyRule>> product_keys;
  for (const std::string& p : spec.rule_products) product_keys.push_back(find_product(p)->keys);
  for (std::size_t i = 0; i < spec.certificates.size(); ++i) {
    Profile& profile = spec.certificates[i].profile;
    profile.allowed_keys = intersect_keys(profile.allowed_keys, product_keys);
    if (profile.allowed_keys.empty()) {
      r.fail(certificate_place(r, root, i), certificate_field(root, i),
             "profile " + profile.name + " allows no key that " + join(spec.rule_products) +
                 " supports");
    }
  }
}

void resolve_mobility(const Reader& r, const Value& root, PoolSpec& spec) {
  std::vector<const Product*> products;
  for (const std::string& p : spec.rule_products) products.push_back(find_product(p));
  const Value* given = pool_value(r, root, "mobility");
  if (given == nullptr) {
    // On by default where every product has it by default; off where no product is known.
    spec.mobility = !products.empty() &&
                    std::all_of(products.begin(), products.end(),
                                [](const Product* p) { return p->mobility == Mobility::kDefault; });
    return;
  }
  spec.mobility = bool_at(r, *given, "pool.mobility");
  bool none = !products.empty() &&
              std::all_of(products.begin(), products.end(),
                          [](const Product* p) { return p->mobility == Mobility::kNone; });
  if (spec.mobility && none) {
    r.fail(*given, "pool.mobility",
           join(spec.rule_products) + " has no Mobility: " + products.front()->mobility_source);
  }
}

void check_spec_rules(const Reader& r, const Value& root, const PoolSpec& spec) {
  check_required_names(r, root, spec);
  check_wildcard_used(r, root, spec);
  check_dns_load_balancing(r, root, spec);
  check_exclusive_names(r, root, spec);
  check_fields_used(r, root, spec);
}

}  // namespace poolcert::toml_layer
