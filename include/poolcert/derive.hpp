// Derivation of each server's certificate request from a spec and its profile's patterns.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "poolcert/spec.hpp"

namespace poolcert {

// DerivedName is one SAN of a plan with the reason it is there, so a check that finds it missing
// can say which rule wanted it ("profile X, pattern sip.{sip_domain}, SIP domain company.com").
struct DerivedName {
  std::string name;
  std::string reason;
};

// CertificatePlan is everything the request for one server's certificate must contain.
struct CertificatePlan {
  std::string server_fqdn;
  std::string certificate;    // the CertificateSpec's name ("" for a single-certificate spec)
  std::string profile;        // the profile's name
  std::string template_name;  // AD CS template, "" for none
  bool exportable = false;
  std::string common_name;
  std::vector<std::pair<std::string, std::string>> subject;  // C..OU from the spec, then CN
  std::vector<DerivedName> sans;  // the CN first, then the profile's order, duplicates collapsed
  std::vector<std::string> eku;
  std::vector<std::string> key_usage;
  KeySpec key;
  std::string digest;
};

// PatternVars maps a placeholder name to its values: one value for most, one per SIP domain for
// {sip_domain}. A pattern naming a many-valued placeholder expands once per value, in order.
using PatternVars = std::map<std::string, std::vector<std::string>>;

// known_placeholders lists every placeholder a profile pattern may use.
const std::vector<std::string>& known_placeholders();

// pattern_problem checks a pattern's syntax and placeholders; returns "" when it is usable.
std::string pattern_problem(const std::string& pattern);

// pool_vars gives the placeholder values of the pool: every placeholder but the server's. A
// value the spec does not give (vip, web_fqdn, ...) has no values.
PatternVars pool_vars(const PoolSpec& spec);

// pattern_vars gives the placeholder values for one server of a spec.
PatternVars pattern_vars(const PoolSpec& spec, const ServerSpec& server);

// pattern_placeholders lists the placeholders a pattern names, in order.
std::vector<std::string> pattern_placeholders(const std::string& pattern);

// expand_pattern expands `pattern` with `vars`: one result per value of the many-valued
// placeholder it names, or one result; none when a placeholder it names has no value. Results
// are not validated. Throws std::invalid_argument
// for an unknown placeholder or a pattern naming two many-valued placeholders.
std::vector<std::string> expand_pattern(const std::string& pattern, const PatternVars& vars);

// derive_plan derives the request of one certificate of `server`. Every derived name is validated
// and lower-cased. Throws std::invalid_argument with a reason when a derived name is not a valid
// DNS name (spec_toml.cpp turns it into a SpecError at the server's place).
CertificatePlan derive_plan(const PoolSpec& spec, const ServerSpec& server,
                            const CertificateSpec& certificate);

// derive_plans derives every certificate of `server`, in the spec's certificate order.
std::vector<CertificatePlan> derive_plans(const PoolSpec& spec, const ServerSpec& server);

}  // namespace poolcert
