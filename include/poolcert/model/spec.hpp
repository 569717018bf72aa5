// The pool spec model: plain structs filled by spec_toml.cpp and consumed by everything else.
// Nothing here knows TOML, OpenSSL or any Microsoft product: product rules are data
// (templates/products.toml, templates/profiles/).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace poolcert {

enum class KeyType { kRsa, kEcdsa };

// KeySpec is the key a server gets: RSA with `bits`, or ECDSA on `curve` ("P-256", "P-384").
struct KeySpec {
  KeyType type = KeyType::kRsa;
  int bits = 2048;       // RSA modulus size; for ECDSA the curve's size (256, 384)
  std::string curve;     // ECDSA only
  bool encrypt = false;  // PKCS#8 with AES-256 under a passphrase
};

// poolcert's own floor, stricter than Microsoft ("1024, 2048, and 4096 are supported. Key lengths
// of 2048 and greater are recommended", S1): it makes no RSA key under 2048 bits and verify fails
// one (NIST SP 800-131A retired 1024-bit RSA in 2013).
constexpr int kMinRsaBits = 2048;

// KeyRule is one line of a profile's (or a product's) allowed keys: a type and the sizes (RSA) or
// curves (ECDSA) of that type it accepts.
struct KeyRule {
  KeyType type = KeyType::kRsa;
  std::vector<int> rsa_bits;
  std::vector<std::string> curves;
};

// Condition is when a profile rule applies: every name in `when` is a placeholder or switch that
// must have a value (a spec field given, or a switch such as auto_logon on), every name in
// `unless` one that must not.
struct Condition {
  std::vector<std::string> when;
  std::vector<std::string> unless;
};

// NameRule is one SAN pattern of a profile (see derive.hpp) with its condition and the source
// that asks for it; `why` becomes the derived name's reason.
struct NameRule {
  std::string pattern;
  Condition condition;
  std::string why;
  bool required = false;  // a spec whose fields give it no name is bad input (S2: webconf)
};

// DnsRecordRule is one record a profile says the pool needs, as patterns (see derive.hpp):
// A (address), CNAME (target) or SRV (priority, weight, port, target).
struct DnsRecordRule {
  std::string type;  // "A", "CNAME", "SRV"
  std::string name;
  std::string address;  // A
  std::string target;   // CNAME, SRV
  int priority = 0;     // SRV
  int weight = 0;       // SRV
  std::string port;     // SRV: a number or a pattern such as {sign_in_port}
  Condition condition;
  bool per_server = false;  // expanded once per server, with the server's placeholders
  bool legacy = false;      // only legacy clients (before Lync 2013) and desktop handsets need it
  std::string view = "internal";  // "internal" or "external" (perimeter) DNS
  std::string why;                // the rule's source, shown in reports
};

// How verify treats a finding a profile's [verify] table rules on.
enum class CheckLevel { kFail, kWarn, kIgnore };

// VerifyPolicy is what verify requires of a certificate beyond its names: a profile's [verify]
// table, today's behaviour as the default (S1, S5: a CDP on every server certificate; S1:
// RSASSA-PSS unsupported; SHA-1 supported but weak).
struct VerifyPolicy {
  CheckLevel cdp = CheckLevel::kFail;         // cdp.present: no CRL distribution point
  CheckLevel cdp_http = CheckLevel::kWarn;    // cdp.http: LDAP-only distribution points
  CheckLevel aia = CheckLevel::kWarn;         // aia.present: no authority information access
  CheckLevel sha1 = CheckLevel::kWarn;        // signature.algorithm: SHA-1 signed
  CheckLevel rsassa_pss = CheckLevel::kFail;  // signature.algorithm: RSASSA-PSS signed
  int min_rsa_bits = kMinRsaBits;             // key.type: never under kMinRsaBits
};

// EkuWhen adds EKUs to the request (and makes verify require them) when a switch is on: Client
// Authentication for public IM connectivity (S7 -ClientEKU).
struct EkuWhen {
  std::string when;
  std::vector<std::string> ekus;
};

// Profile is a role's certificate rules, read from templates/profiles/<name>.toml (the format is
// described in templates/profiles/README.md). Patterns use {placeholders} expanded by derive.cpp.
struct Profile {
  std::string name;  // the file's stem
  std::filesystem::path file;
  std::string description;
  std::string source;  // the sources it cites (DOMAIN.md short names)
  std::string role;    // what it is for, in words: "Front End pool, default certificate"
  std::vector<std::string> products;  // the products it applies to; empty: every product
  std::string products_source;        // why not the others (shown when refused)
  std::string cn_pattern;
  std::vector<NameRule> san_rules;  // whenever any SAN is derived, the CN is the first SAN
  // Whether the spec may put a wildcard SAN on this certificate ([simple_urls] wildcard,
  // extra_sans): never in the CN, and always after every FQDN SAN.
  bool allow_wildcards = false;
  std::vector<std::string> wildcard_replaces;  // patterns whose names the wildcard stands for
  std::vector<std::string> exclusive;  // patterns whose names no other role's certificate may hold
  std::vector<std::string> eku_request;    // short names: serverAuth, clientAuth, ...
  std::vector<std::string> eku_require;    // verify fails without these
  std::vector<std::string> eku_recommend;  // verify warns without these
  std::vector<EkuWhen> eku_when;           // requested and required when a switch is on
  std::vector<std::string> key_usage;      // digitalSignature, keyEncipherment, ...
  std::vector<KeyRule> allowed_keys;
  KeySpec default_key;
  std::string digest = "sha256";  // signature digest of the CSR
  VerifyPolicy verify;
  std::vector<DnsRecordRule> dns_records;
  std::string template_name;  // AD CS certificate template to ask for ("WebServer"), "" for none
  bool exportable = false;    // certreq: the key must be exportable (Edge: same key on each member)
  // One key and one CSR for the whole pool, the same certificate on every member (Edge, S2 and
  // L13; OAuthTokenIssuer, S6) instead of one per server.
  bool shared = false;
};

// Mobility is whether a product has Mobility's autodiscover names (lyncdiscover): none, on
// request ([pool] mobility = true), or by default.
enum class Mobility { kNone, kOptional, kDefault };

// Product is one product version's rules that differ between versions, from
// templates/products.toml.
struct Product {
  std::string name;  // "ocs2007", ..., "sfbse"
  std::string description;
  std::vector<KeyRule> keys;  // the keys it supports (at poolcert's floor)
  std::string keys_source;
  Mobility mobility = Mobility::kNone;
  std::string mobility_source;
};

// CertificateSpec is one certificate every server of a spec gets: its name (the `<certificate>` of
// `<server>.<certificate>.key`; "" when the spec lists no [[certificate]], giving `<server>.key`)
// and its role's profile, whose allowed keys are already those of the spec's product.
struct CertificateSpec {
  std::string name;
  Profile profile;
  std::vector<std::string>
      extra_sans;  // [[certificate]] extra_sans: on this certificate of every server
};

// SimpleUrls are the pool's simple URL hosts (Lync/SfB web services): meet (one per SIP domain
// usually), dial-in and admin, and the one wildcard that may stand for them on web certificates.
struct SimpleUrls {
  std::vector<std::string> meet;
  std::string dialin;
  std::string admin;
  std::string wildcard;  // "*.contoso.com", "" for none
};

// DnsSettings are a spec's [dns] table.
struct DnsSettings {
  int sign_in_port = 5061;  // the SRV port of internal sign-in (TLS)
  int ttl = 3600;
  bool sip_internal_tcp = false;  // also publish _sipinternal._tcp (TCP 5060) where allowed
  bool sipinternal = false;       // sipinternal.<D> exists in DNS: a SAN of the default certificate
  bool sipexternal = false;       // sipexternal.<D> exists in DNS: likewise (S1)
  bool lyncdiscover_cname = false;  // lyncdiscover(internal) as a CNAME to the web FQDN, not an A
};

// ServerSpec is one [[server]] of a spec.
struct ServerSpec {
  std::string fqdn;              // validated, lower-case
  std::string address;           // its own IPv4 address, "" when not given
  std::string external_address;  // Edge: its external (perimeter) address (the Access Edge's)
  std::string webconf_address;   // Edge: the web conferencing Edge's, when not external_address
  std::string av_address;        // Edge: the A/V Edge's, when not external_address
  std::vector<std::string> extra_sans;  // a spec without [[certificate]]: its one certificate
  // Names added to one certificate of this server only: certificate name -> names.
  std::vector<std::pair<std::string, std::vector<std::string>>> certificate_sans;
  KeySpec key;  // the spec's [key] unless the server has its own [server.key]
};

// PoolSpec is one spec file, validated: every name checked, the profiles loaded, every server's
// certificates derivable.
struct PoolSpec {
  std::filesystem::path file;
  std::string product;  // the spec's `product`, "" when it names none
  // The products whose rules the spec is read with: its product, or, without one, every product
  // all of its profiles apply to; empty when neither it nor its profiles name any (the profiles'
  // own rules alone).
  std::vector<std::string> rule_products;
  std::vector<CertificateSpec> certificates;  // at least one; the first is the default
  std::filesystem::path output_dir;           // resolved against the spec's folder
  std::string pool_fqdn;
  std::vector<std::string> sip_domains;  // in spec order, no duplicates; the first is primary
  std::string vip;       // the front ends' load-balancer virtual IP (IPv4), "" when not given
  std::string web_fqdn;  // the internal web farm FQDN, "" when not given
  std::string web_vip;   // its virtual IP
  std::string web_external_fqdn;                 // the external web services FQDN
  std::vector<std::string> published_web_fqdns;  // reverse proxy: further published web FQDNs
  std::string webconf_fqdn;                      // the Edge's external web conferencing FQDN
  std::string access_fqdn;   // the Edge's Access Edge external FQDN (Lync 2010 subject)
  std::string av_fqdn;       // the Edge's A/V Edge external FQDN
  std::string external_vip;  // Edge: the external interfaces' load-balancer VIP (Access Edge)
  std::string webconf_vip;   // Edge: the web conferencing Edge's VIP, when not external_vip
  std::string av_vip;        // Edge: the A/V Edge's VIP, when not external_vip
  std::vector<std::string> xmpp_domains;  // Edge: the XMPP domains (default: the SIP domains)
  bool auto_logon = true;                 // the pool is the auto-logon server: sip.<D> names (S1)
  bool mobility = false;                  // Mobility's lyncdiscover names (product default)
  bool public_im = false;           // Edge: public IM connectivity (Client Authentication, S7)
  bool dns_load_balancing = false;  // the pool FQDN resolves to each member's address (S3)
  SimpleUrls simple_urls;
  std::string template_name;  // the spec's AD CS template; "" keeps each profile's
  DnsSettings dns;
  KeySpec key;
  std::vector<std::pair<std::string, std::string>> subject;  // C, ST, L, O, OU in that order
  std::vector<ServerSpec> servers;
  // The request date in friendly names (YYYY-MM-DD); "" leaves it out. Set by the caller (the
  // CLI: today in UTC, or SOURCE_DATE_EPOCH), not read from the spec.
  std::string request_date;
};

// key_type_name is "rsa" or "ecdsa".
const char* key_type_name(KeyType type) noexcept;

// describe_key says a key spec the way a person writes it: "RSA 2048", "ECDSA P-256".
std::string describe_key(const KeySpec& key);

// keys_allow tells whether `key` matches one of `rules`.
bool keys_allow(const std::vector<KeyRule>& rules, const KeySpec& key);

// profile_allows_key tells whether `key` matches one of the profile's allowed key rules.
bool profile_allows_key(const Profile& profile, const KeySpec& key);

// is_certificate_name tells whether `name` can name a certificate of a spec: 1-32 lower-case
// letters, digits and hyphens, starting with a letter or digit (it becomes part of file names).
bool is_certificate_name(const std::string& name);

// template_name_problem checks an AD CS certificate template name; "" when usable (1-64
// printable ASCII characters, no quote, since it goes into certreq INF files and a BMPString).
std::string template_name_problem(const std::string& name);

// effective_template is the template to ask for: the spec's, else the profile's.
const std::string& effective_template(const PoolSpec& spec, const Profile& profile);

// describe_keys lists key rules: "RSA 2048/4096, ECDSA P-256".
std::string describe_keys(const std::vector<KeyRule>& rules);

// describe_allowed_keys lists a profile's allowed keys: "RSA 2048/4096, ECDSA P-256".
std::string describe_allowed_keys(const Profile& profile);

// intersect_keys keeps of `rules` the keys every one of `others` allows.
std::vector<KeyRule> intersect_keys(const std::vector<KeyRule>& rules,
                                    const std::vector<std::vector<KeyRule>>& others);

// check_level_name is "fail", "warn" or "ignore".
const char* check_level_name(CheckLevel level) noexcept;

// applies_to tells whether `profile` applies to `product` (a profile that lists none applies to
// every product).
bool applies_to(const Profile& profile, const std::string& product);

}  // namespace poolcert
