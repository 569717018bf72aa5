// The product table (templates/products.toml, built in): the rules that differ between product
// versions, read from TOML into Product.
#include <string_view>

#include "poolcert/toml/spec_toml.hpp"
#include "toml/toml_reader.hpp"

namespace poolcert {
namespace data {
std::string_view products_toml();  // generated from templates/products.toml (CMakeLists.txt)
}  // namespace data

namespace fs = std::filesystem;
using namespace toml_layer;
namespace {

Mobility mobility_at(const Reader& r, const Value& v, const std::string& field) {
  std::string s = r.string_at(v, field);
  if (s == "none") return Mobility::kNone;
  if (s == "optional") return Mobility::kOptional;
  if (s == "default") return Mobility::kDefault;
  r.fail(v, field, quote_value(s) + " is not none, optional or default");
}

Product product_at(const Reader& r, const Value& v, const std::string& field) {
  r.expect(v, toml::value_t::table, field);
  r.reject_unknown(v, field + ".",
                   {"name", "description", "keys", "keys_source", "mobility", "mobility_source"});
  Product p;
  p.name = r.string_at(r.require(v, "name", field + ".name"), field + ".name");
  if (const Value* d = r.find(v, "description"))
    p.description = r.string_at(*d, field + ".description");
  p.keys = key_rules_at(r, r.require(v, "keys", field + ".keys"), field + ".keys");
  if (const Value* s = r.find(v, "keys_source"))
    p.keys_source = r.string_at(*s, field + ".keys_source");
  p.mobility = mobility_at(r, r.require(v, "mobility", field + ".mobility"), field + ".mobility");
  if (const Value* s = r.find(v, "mobility_source")) {
    p.mobility_source = r.string_at(*s, field + ".mobility_source");
  }
  return p;
}

}  // namespace

std::vector<Product> load_products(const std::string& text, const fs::path& name) {
  Reader r(name);
  Value root = r.parse_text(text);
  r.set_root(&root);
  r.reject_unknown(root, "", {"product"});
  const Value& list =
      r.expect(r.require(root, "product", "product"), toml::value_t::array, "product");
  std::vector<Product> products;
  for (std::size_t i = 0; i < list.as_array().size(); ++i) {
    std::string field = "product[" + std::to_string(i) + "]";
    Product p = product_at(r, list.as_array()[i], field);
    for (const Product& other : products) {
      if (other.name == p.name) {
        r.fail(list.as_array()[i], field + ".name", quote_value(p.name) + " twice");
      }
    }
    products.push_back(std::move(p));
  }
  return products;
}

const std::vector<Product>& known_products() {
  static const std::vector<Product> kProducts =
      load_products(std::string(data::products_toml()), "templates/products.toml (built in)");
  return kProducts;
}

const Product* find_product(const std::string& name) {
  for (const Product& p : known_products()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string product_names() {
  std::string out;
  for (const Product& p : known_products()) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

}  // namespace poolcert
