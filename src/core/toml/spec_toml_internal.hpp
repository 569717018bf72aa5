// The parts of spec loading shared by spec_toml.cpp (reading the tables) and spec_checks.cpp
// (the rules across tables: product, keys, wildcards, shared certificates, DNS load balancing).
// Internal to src/core, like toml_reader.hpp.
#pragma once

#include "poolcert/model/spec.hpp"
#include "toml/toml_reader.hpp"

namespace poolcert::toml_layer {

// apply_product reads the spec's `product` (or, without one, finds the products every profile
// applies to) into spec.product / spec.rule_products, refuses a profile that does not apply to
// it (at the certificate's profile field, naming the profile's source), and narrows each
// certificate's allowed keys to those of the products. Needs spec.certificates read.
void apply_product(const Reader& r, const Value& root, PoolSpec& spec);

// resolve_mobility sets spec.mobility from [pool] mobility or the products' default, refusing it
// on a product without Mobility. Needs spec.rule_products.
void resolve_mobility(const Reader& r, const Value& root, PoolSpec& spec);

// check_spec_rules checks the rules across tables once every table is read: the simple-URL
// wildcard lands on some certificate, extra names are allowed where they go, DNS load balancing
// has its addresses, no other role holds a name a profile keeps to itself.
void check_spec_rules(const Reader& r, const Value& root, const PoolSpec& spec);

// The place of the certificate `index` of the spec's [[certificate]] list, or of `profile`, and
// its dotted field.
const Value& certificate_place(const Reader& r, const Value& root, std::size_t index);
std::string certificate_field(const Value& root, std::size_t index);

}  // namespace poolcert::toml_layer
