// The pool spec model: plain structs filled by spec_toml.cpp and consumed by everything else.
// Nothing here knows TOML, OpenSSL or any Microsoft product.
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

// KeyRule is one line of a profile's allowed keys: a type and the sizes (RSA) or curves (ECDSA)
// of that type the profile accepts.
struct KeyRule {
  KeyType type = KeyType::kRsa;
  std::vector<int> rsa_bits;
  std::vector<std::string> curves;
};

// DnsRecordRule is one record a profile says the pool needs, as patterns (see derive.hpp):
// A (address), CNAME (target) or SRV (priority, weight, port, target). A rule with `when`
// applies only when that placeholder has a value (a spec field given, or a [dns] switch on).
struct DnsRecordRule {
  std::string type;  // "A", "CNAME", "SRV"
  std::string name;
  std::string address;  // A
  std::string target;   // CNAME, SRV
  int priority = 0;     // SRV
  int weight = 0;       // SRV
  std::string port;     // SRV: a number or a pattern such as {sign_in_port}
  std::string when;     // placeholder that must have a value; "" = always
  std::string why;      // the rule's source, shown in reports
};

// Profile is a role's certificate rules, read from templates/profiles/<name>.toml. Patterns use
// {placeholders} expanded by derive.cpp; see templates/profiles/README.md.
struct Profile {
  std::string name;  // the file's stem
  std::filesystem::path file;
  std::string description;
  std::string cn_pattern;
  std::vector<std::string> san_patterns;   // the CN is always the first SAN besides these
  bool allow_wildcards = false;            // in SANs only: never in the CN
  std::vector<std::string> eku_request;    // short names: serverAuth, clientAuth, ...
  std::vector<std::string> eku_require;    // verify fails without these
  std::vector<std::string> eku_recommend;  // verify warns without these
  std::vector<std::string> key_usage;      // digitalSignature, keyEncipherment, ...
  std::vector<KeyRule> allowed_keys;
  KeySpec default_key;
  std::string digest = "sha256";     // signature digest of the CSR
  bool allow_sha1_signature = true;  // verify: SHA-1 signed certificates
  bool allow_rsassa_pss = false;     // verify: RSASSA-PSS signed certificates
  std::vector<DnsRecordRule> dns_records;
  std::string template_name;  // AD CS certificate template to ask for ("WebServer"), "" for none
  bool exportable = false;    // certreq: the key must be exportable (Edge: same key on each member)
};

// CertificateSpec is one certificate every server of a spec gets: its name (the `<certificate>` of
// `<server>.<certificate>.key`; "" when the spec lists no [[certificate]], giving `<server>.key`)
// and its role's profile.
struct CertificateSpec {
  std::string name;
  Profile profile;
};

// SimpleUrls are the pool's simple URL hosts (Lync/SfB web services): meet (one per SIP domain
// usually), dial-in and admin.
struct SimpleUrls {
  std::vector<std::string> meet;
  std::string dialin;
  std::string admin;
};

// DnsSettings are a spec's [dns] table.
struct DnsSettings {
  int sign_in_port = 5061;  // the SRV port of internal sign-in (TLS)
  int ttl = 3600;
  bool sip_internal_tcp = false;  // also publish _sipinternal._tcp (TCP 5060) where allowed
};

// ServerSpec is one [[server]] of a spec.
struct ServerSpec {
  std::string fqdn;  // validated, lower-case
  std::vector<std::string> extra_sans;
  KeySpec key;  // the spec's [key] unless the server has its own [server.key]
};

// PoolSpec is one spec file, validated: every name checked, the profiles loaded, every server's
// certificates derivable.
struct PoolSpec {
  std::filesystem::path file;
  std::vector<CertificateSpec> certificates;  // at least one; the first is the default
  std::filesystem::path output_dir;           // resolved against the spec's folder
  std::string pool_fqdn;
  std::vector<std::string> sip_domains;  // in spec order, no duplicates
  std::string vip;       // the front ends' load-balancer virtual IP (IPv4), "" when not given
  std::string web_fqdn;  // the internal web farm FQDN, "" when not given
  std::string web_vip;   // its virtual IP
  std::string web_external_fqdn;  // the external web services FQDN
  std::string webconf_fqdn;       // the Edge's external web conferencing FQDN
  SimpleUrls simple_urls;
  std::string template_name;  // the spec's AD CS template; "" keeps each profile's
  DnsSettings dns;
  KeySpec key;
  std::vector<std::pair<std::string, std::string>> subject;  // C, ST, L, O, OU in that order
  std::vector<ServerSpec> servers;
};

// key_type_name is "rsa" or "ecdsa".
const char* key_type_name(KeyType type) noexcept;

// describe_key says a key spec the way a person writes it: "RSA 2048", "ECDSA P-256".
std::string describe_key(const KeySpec& key);

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

// describe_allowed_keys lists a profile's allowed keys: "RSA 2048/4096, ECDSA P-256".
std::string describe_allowed_keys(const Profile& profile);

}  // namespace poolcert
