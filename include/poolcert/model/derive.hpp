// Derivation of each server's certificate request from a spec and its profile's patterns.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "poolcert/model/spec.hpp"

namespace poolcert {

// DerivedName is one SAN of a plan with the reason it is there, so a check that finds it missing
// can say which rule wanted it ("profile X, pattern sip.{sip_domain}, SIP domain company.com").
struct DerivedName {
  std::string name;
  std::string reason;
  // A simple-URL or autodiscover name that a wildcard SAN may stand for (the profile's
  // san.wildcard_replaces, on a profile that takes wildcards): verify counts it present then.
  bool wildcard_may_cover = false;
};

// CertificatePlan is everything the request for one certificate must contain.
struct CertificatePlan {
  // The server the certificate is for; for a certificate the pool's members share (a profile
  // with [key] shared), the pool FQDN, whose name its files carry.
  std::string server_fqdn;
  bool shared = false;
  std::vector<std::string> members;  // a shared certificate: every server of the pool
  std::string certificate;    // the CertificateSpec's name ("" for a single-certificate spec)
  std::string profile;        // the profile's name
  std::string template_name;  // AD CS template, "" for none
  bool exportable = false;
  std::string common_name;
  // CN, the certificate's name and the request date: unique per server in the computer store (S1:
  // "Each certificate friendly name has to be unique in the computer store").
  std::string friendly_name;
  std::vector<std::pair<std::string, std::string>> subject;  // C..OU from the spec, then CN
  // The CN first (whenever there is any SAN), then the profile's order, then the spec's extra
  // names, every wildcard last; duplicates collapsed.
  std::vector<DerivedName> sans;
  std::vector<std::string> eku;           // requested
  std::vector<std::string> eku_required;  // what verify fails without
  std::vector<std::string> key_usage;
  KeySpec key;
  std::string digest;
};

// PatternVars maps a placeholder name to its values: one value for most, one per SIP domain for
// {sip_domain}. A pattern naming a many-valued placeholder expands once per value, in order. A
// switch (auto_logon, mobility, ...) has the one value "true" when on and none when off.
using PatternVars = std::map<std::string, std::vector<std::string>>;

// known_placeholders lists every placeholder a profile pattern may use.
const std::vector<std::string>& known_placeholders();

// is_server_placeholder tells whether a placeholder has a value per server ({server_fqdn},
// {server_host}, {server_address}, {server_external_address}, ...: every {server_*}).
bool is_server_placeholder(const std::string& name);

// placeholder_family names the list a many-valued placeholder expands over: "sip_domain" for
// {sip_domain} and {pool_in_sip_domain} (one value per SIP domain, aligned), "meet", "xmpp_domain",
// "published_web_fqdn"; "" for a single-valued placeholder.
std::string placeholder_family(const std::string& name);

// family_members lists the placeholders of a family, which expand together: {"sip_domain",
// "pool_in_sip_domain"} for "sip_domain", the family itself for the others.
std::vector<std::string> family_members(const std::string& family);

// placeholder_family_of is the family of the many-valued placeholders `pattern` names ("" for
// none). Throws std::invalid_argument when it names two families.
std::string placeholder_family_of(const std::string& pattern);

// pattern_problem checks a pattern's syntax and placeholders; returns "" when it is usable.
std::string pattern_problem(const std::string& pattern);

// pool_vars gives the placeholder values of the pool: every placeholder but the server's. A
// value the spec does not give (vip, web_fqdn, ...) has no values.
PatternVars pool_vars(const PoolSpec& spec);

// pattern_vars gives the placeholder values for one server of a spec.
PatternVars pattern_vars(const PoolSpec& spec, const ServerSpec& server);

// pattern_placeholders lists the placeholders a pattern names, in order.
std::vector<std::string> pattern_placeholders(const std::string& pattern);

// condition_holds tells whether a rule's condition holds for `vars`.
bool condition_holds(const Condition& condition, const PatternVars& vars);

// expand_pattern expands `pattern` with `vars`: one result per value of the many-valued
// placeholders it names, or one result; none when a placeholder it names has no value. Results
// are not validated. Throws std::invalid_argument for an unknown placeholder or a pattern naming
// many-valued placeholders of two families.
std::vector<std::string> expand_pattern(const std::string& pattern, const PatternVars& vars);

// wildcard_covers tells whether the wildcard `wildcard` ("*.contoso.com") matches `name` by the
// one-label rule of RFC 6125 6.4.3 ("meet.contoso.com", not "a.meet.contoso.com").
bool wildcard_covers(const std::string& wildcard, const std::string& name);

// derive_plan derives the request of one certificate of `server` (nullptr for a shared
// certificate, which is the pool's). Every derived name is validated and lower-cased. Throws
// std::invalid_argument with a reason when a derived name is not a valid DNS name (spec_toml.cpp
// turns it into a SpecError at the server's place).
CertificatePlan derive_plan(const PoolSpec& spec, const ServerSpec* server,
                            const CertificateSpec& certificate);

// derive_plan for one server's own certificate, or the pool's for a shared one.
CertificatePlan derive_plan(const PoolSpec& spec, const ServerSpec& server,
                            const CertificateSpec& certificate);

// derive_plans derives every certificate of `server`, in the spec's certificate order (a shared
// certificate's plan is the pool's, the same for every server).
std::vector<CertificatePlan> derive_plans(const PoolSpec& spec, const ServerSpec& server);

// SpecField is the spec table and key that give a placeholder its value: {"pool", "web_fqdn"},
// {"simple_urls", "meet"}, {"server", "address"} (for {server_address}), {"dns", "sipinternal"}.
struct SpecField {
  std::string table;
  std::string key;
  std::string dotted() const { return table + "." + key; }  // "pool.web_fqdn"
  std::string label() const;  // as a person looks for it: "[pool] web_fqdn", "[[server]] address"
};

// placeholder_field is the SpecField of a placeholder or switch.
SpecField placeholder_field(const std::string& placeholder);

// placeholders_used lists every placeholder and switch the spec's profiles name, in patterns,
// conditions and conditional EKUs.
std::set<std::string> placeholders_used(const PoolSpec& spec);

// unused_field_warnings names each field the spec gives (an address, a web FQDN, a simple URL)
// that none of its profiles uses: a fact about the deployment, harmless, but it goes on no
// certificate and into no record. (A switch no profile uses is bad input instead.)
std::vector<std::string> unused_field_warnings(const PoolSpec& spec);

// today_utc is the date for friendly names: SOURCE_DATE_EPOCH when set (reproducible output,
// https://reproducible-builds.org/specs/source-date-epoch/), else today, as YYYY-MM-DD in UTC.
std::string today_utc();

}  // namespace poolcert
