// verify(): pairs each leaf of the input with its server, then runs the checks on it.
#include "poolcert/verify/verify.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <regex>
#include <unordered_map>

#include <openssl/crypto.h>

#include "poolcert/model/checks.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/model/layout.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/sys/parallel.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/key.hpp"
#include "poolcert/x509/x509_load.hpp"

namespace poolcert {
namespace fs = std::filesystem;
namespace {

// A server's public key fingerprint from its CSR (public, and made from the key by csr), or,
// failing that, from its key when it is not encrypted. The key is read through the key folder
// (`key_folder`; nullptr when there is none), never through a symlink unless options say so.
std::optional<std::string> server_spki(const RequestKeyReader& requests, const Folder* key_folder,
                                       const VerifyOptions& options, const std::string& owner,
                                       const std::string& certificate) {
  std::error_code ec;
  fs::path csr = options.key_dir / output_file_name(owner, certificate, OutputFile::kCsr);
  if (fs::is_regular_file(csr, ec)) {
    std::optional<std::string> spki = requests.first_request_spki_sha256(csr);
    if (!spki) throw BadFileError(csr, "holds no certificate request");
    return spki;
  }
  if (key_folder == nullptr) return std::nullopt;
  const std::string name = output_file_name(owner, certificate, OutputFile::kKey);
  std::optional<struct stat> st = stat_at(*key_folder, name);
  if (!st || S_ISDIR(st->st_mode)) return std::nullopt;
  InputFile key =
      read_file_at(*key_folder, name,
                   options.follow_key_symlinks ? Symlinks::kFollow : Symlinks::kRefuse, 1 << 20);
  std::optional<std::string> spki;
  if (!pem_is_encrypted_key(key.data)) {
    try {
      spki = spki_sha256(parse_private_key(key.data, key_folder->file(name), std::nullopt).get());
    } catch (...) {
      OPENSSL_cleanse(key.data.data(), key.data.size());
      throw;
    }
  }
  OPENSSL_cleanse(key.data.data(), key.data.size());
  return spki;
}

// Certificates that are chain material rather than leaves: CAs and self-signed roots.
bool is_chain_material(X509* cert) {
  return X509_check_ca(cert) != 0 || X509_check_issued(cert, cert) == X509_V_OK;
}

struct Candidate {
  const InputCertificate* input = nullptr;
  X509Facts facts;  // decoded once, for pairing and for the checks
  bool chain_material = false;
  bool used = false;
};

// The distinct certificates of the input, decoded, in input order. The same certificate twice (a
// .cer and the .p7b that carries it) is one certificate. Equal certificates have equal serial
// numbers, so X509_cmp runs only within one serial number: comparing every pair was 2 million
// comparisons for 2000 certificates.
std::vector<Candidate> distinct_candidates(const std::vector<InputCertificate>& input,
                                           unsigned jobs) {
  // Decoding is most of the work, and each certificate's is its own.
  std::vector<Candidate> decoded(input.size());
  parallel_for(input.size(), jobs, [&](std::size_t i) {
    X509* cert = input[i].cert.get();
    decoded[i] = {&input[i], certificate_facts(cert), is_chain_material(cert)};
  });
  std::vector<Candidate> candidates;
  std::unordered_map<std::string, std::vector<std::size_t>> by_serial;  // indices in candidates
  for (Candidate& c : decoded) {
    std::vector<std::size_t>& same_serial = by_serial[c.facts.serial];
    bool seen = std::any_of(same_serial.begin(), same_serial.end(), [&](std::size_t i) {
      return X509_cmp(candidates[i].input->cert.get(), c.input->cert.get()) == 0;
    });
    if (seen) continue;
    same_serial.push_back(candidates.size());
    candidates.push_back(std::move(c));
  }
  return candidates;
}

bool valid_at(const Candidate& c, std::time_t at) {
  return c.facts.not_before && c.facts.not_after && *c.facts.not_before <= at &&
         at <= *c.facts.not_after;
}

// Of several certificates for one server, the one to check: valid at `at` first, then the one
// that lasts longest, then the newest.
bool better(const Candidate& a, const Candidate& b, std::time_t at) {
  bool valid_a = valid_at(a, at);
  bool valid_b = valid_at(b, at);
  if (valid_a != valid_b) return valid_a;
  if (a.facts.not_after != b.facts.not_after) return a.facts.not_after > b.facts.not_after;
  return a.facts.not_before > b.facts.not_before;
}

// One certificate of one server (or of the pool, shared): what it should be and what was found.
struct Target {
  const ExpectedCertificate* expected;
  const CertificateSpec* cert;
  const CertificatePlan& plan;
  const std::optional<std::string>& spki;
  Candidate* paired;
  std::vector<Candidate*> rivals;  // shared: further certificates for it with another key
  // The name a leaf of this target carries: the server's FQDN, or a shared certificate's CN.
  const std::string& pairing_name() const {
    return plan.shared ? plan.common_name : plan.server_fqdn;
  }
};

std::string describe_target(const Target& t) {
  std::string who = t.plan.shared ? "the pool " + t.plan.server_fqdn : t.plan.server_fqdn;
  return t.cert->name.empty() ? who : who + " (" + t.cert->name + ")";
}

bool planned(const CertificatePlan& plan, const std::string& name) {
  return std::any_of(plan.sans.begin(), plan.sans.end(),
                     [&](const DerivedName& d) { return same_dns_name(name, d.name); });
}

std::size_t names_covered(const Candidate& c, const CertificatePlan& plan) {
  return static_cast<std::size_t>(
      std::count_if(plan.sans.begin(), plan.sans.end(), [&](const DerivedName& d) {
        return std::any_of(c.facts.dns_sans.begin(), c.facts.dns_sans.end(),
                           [&](const std::string& n) { return same_dns_name(n, d.name); });
      }));
}

std::size_t names_unplanned(const Candidate& c, const CertificatePlan& plan) {
  return static_cast<std::size_t>(
      std::count_if(c.facts.dns_sans.begin(), c.facts.dns_sans.end(),
                    [&](const std::string& n) { return !planned(plan, n); }));
}

// For pairing by name: a leaf before a CA or self-signed certificate (one made for the server by
// mistake is still its certificate), then the one that carries most of the planned names, then
// the one with fewest names beyond them (another server's certificate that also names this one
// has its own server's name), then better().
bool better_by_name(const Candidate& a, const Candidate& b, const CertificatePlan& plan,
                    std::time_t at) {
  if (a.chain_material != b.chain_material) return !a.chain_material;
  std::size_t covered_a = names_covered(a, plan);
  std::size_t covered_b = names_covered(b, plan);
  if (covered_a != covered_b) return covered_a > covered_b;
  std::size_t unplanned_a = names_unplanned(a, plan);
  std::size_t unplanned_b = names_unplanned(b, plan);
  if (unplanned_a != unplanned_b) return unplanned_a < unplanned_b;
  return better(a, b, at);
}

UnmatchedCertificate superseded_by(const Candidate& c, const Target& t) {
  return {c.input->file, subject_text(c.input->cert.get()),
          "another certificate for " + describe_target(t) + "; " + t.paired->input->file.string() +
              " was checked instead"};
}

bool wanted(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

std::string short_spki(const std::string& spki) {
  return spki.substr(0, 16);
}

// pool.same-certificate: what every member of the pool is given (S2: "the exact same
// certificate with the same private key"; S6: the same OAuthTokenIssuer certificate on all Front
// End Servers) is one key: the pool's key, any key of a member's own in the key folder, and every
// certificate of the input for it.
CheckResult same_certificate_check(const Target& t) {
  const ExpectedCertificate& e = *t.expected;
  std::string wanted = t.spki ? *t.spki : t.paired->facts.spki_sha256;
  std::vector<std::string> differ;
  if (t.paired->facts.spki_sha256 != wanted) {
    differ.push_back(t.paired->input->file.string() + " is for another key (SPKI " +
                     short_spki(t.paired->facts.spki_sha256) + "...)");
  }
  for (const ExpectedCertificate::MemberKey& k : e.member_keys) {
    if (k.spki == wanted) continue;
    differ.push_back(k.member + " has its own key " + k.file.string() + " (SPKI " +
                     short_spki(k.spki) + "...)");
  }
  for (const Candidate* c : t.rivals) {
    std::string who;
    for (const ExpectedCertificate::MemberKey& k : e.member_keys) {
      if (k.spki == c->facts.spki_sha256) who = ", " + k.member + "'s own key";
    }
    differ.push_back(c->input->file.string() +
                     " is a second certificate for it, for another key (SPKI " +
                     short_spki(c->facts.spki_sha256) + "..." + who + ")");
  }
  std::string members;
  for (const std::string& m : t.plan.members) members += (members.empty() ? "" : ", ") + m;
  std::string expected =
      "one certificate and key (SPKI " + short_spki(wanted) + "...) for " + members;
  if (differ.empty()) {
    return {std::string(check::kPoolSameCertificate), CheckStatus::kPass,
            "one certificate and key for every member (" + members + ")", expected,
            t.paired->input->file.string()};
  }
  std::string found;
  for (const std::string& d : differ) found += (found.empty() ? "" : "; ") + d;
  return {std::string(check::kPoolSameCertificate), CheckStatus::kFail,
          "the members of " + t.plan.server_fqdn + " must share one certificate and key (" +
              t.cert->profile.source + "): " + found,
          expected, found};
}

}  // namespace

const char* check_status_name(CheckStatus status) noexcept {
  switch (status) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
  }
  return "?";
}

int VerifyReport::count(CheckStatus status) const {
  int n = 0;
  for (const ServerReport& s : servers) {
    n += static_cast<int>(std::count_if(s.checks.begin(), s.checks.end(),
                                        [&](const CheckResult& c) { return c.status == status; }));
  }
  return n;
}

bool VerifyReport::failed() const {
  return count(CheckStatus::kFail) > 0 || !unmatched.empty();
}

std::vector<ExpectedCertificate> expected_certificates(const PoolSpec& spec,
                                                       const VerifyOptions& options) {
  bool has_shared = std::any_of(spec.certificates.begin(), spec.certificates.end(),
                                [](const CertificateSpec& c) { return c.profile.shared; });
  for (const std::string& name : options.servers) {
    // A member, or the pool for the certificates its members share.
    bool known = (has_shared && name == spec.pool_fqdn) ||
                 std::any_of(spec.servers.begin(), spec.servers.end(),
                             [&](const ServerSpec& s) { return s.fqdn == name; });
    if (!known) throw UsageError("--server " + name + ": no such server in " + spec.file.string());
  }
  for (const std::string& name : options.certificates) {
    bool known = std::any_of(spec.certificates.begin(), spec.certificates.end(),
                             [&](const CertificateSpec& c) { return c.name == name; });
    if (!known) {
      throw UsageError("--certificate " + name + ": no such certificate in " + spec.file.string());
    }
  }
  std::vector<ExpectedCertificate> expected;
  expected.reserve(spec.servers.size() * spec.certificates.size());
  RequestKeyReader requests;
  std::optional<Folder> key_folder;
  std::error_code ec;
  if (fs::is_directory(options.key_dir.empty() ? fs::path(".") : options.key_dir, ec)) {
    key_folder.emplace(options.key_dir);
  }
  const Folder* keys = key_folder ? &*key_folder : nullptr;
  for (const ServerSpec& server : spec.servers) {
    for (const CertificateSpec& cert : spec.certificates) {
      if (!cert.profile.shared) {
        expected.push_back({&server,
                            &cert,
                            derive_plan(spec, &server, cert),
                            server_spki(requests, keys, options, server.fqdn, cert.name),
                            {}});
        continue;
      }
      if (&server != &spec.servers.front()) continue;  // the pool's, once
      ExpectedCertificate e{nullptr,
                            &cert,
                            derive_plan(spec, nullptr, cert),
                            server_spki(requests, keys, options, spec.pool_fqdn, cert.name),
                            {}};
      for (const ServerSpec& member : spec.servers) {
        if (member.fqdn == spec.pool_fqdn) continue;  // that is the pool's own file
        if (auto spki = server_spki(requests, keys, options, member.fqdn, cert.name)) {
          e.member_keys.push_back(
              {member.fqdn,
               options.key_dir / output_file_name(member.fqdn, cert.name, OutputFile::kKey),
               *spki});
        }
      }
      expected.push_back(std::move(e));
    }
  }
  return expected;
}

VerifyReport verify(const PoolSpec& spec, const std::vector<InputCertificate>& input,
                    const VerifyOptions& options) {
  return verify(spec, expected_certificates(spec, options), input, options);
}

VerifyReport verify(const PoolSpec& spec, const std::vector<ExpectedCertificate>& expected,
                    const std::vector<InputCertificate>& input, const VerifyOptions& options) {
  ossl::UniquePtr<X509_STORE> trust = load_trust_store(options.ca_bundle);

  // Chain material (CAs, roots) is what chain building may use; other leaves are not, which also
  // keeps a batch of thousands of certificates linear.
  std::vector<Candidate> candidates = distinct_candidates(input, options.jobs);
  std::vector<X509*> chain_material;
  for (const Candidate& c : candidates) {
    if (c.chain_material) chain_material.push_back(c.input->cert.get());
  }
  std::unordered_multimap<std::string, Candidate*> by_spki;
  std::unordered_multimap<std::string, Candidate*> by_name;  // by each DNS SAN, and the CN
  for (Candidate& c : candidates) {
    by_spki.emplace(c.facts.spki_sha256, &c);
    for (const std::string& name : c.facts.dns_sans) by_name.emplace(to_lower_ascii(name), &c);
    if (!c.facts.common_name.empty() && c.facts.dns_sans.empty()) {
      by_name.emplace(to_lower_ascii(c.facts.common_name), &c);  // Edge internal: no SAN (S2)
    }
  }

  // Pair every certificate of every server, by public key first, then by name.
  std::vector<Target> targets;
  targets.reserve(expected.size());
  for (const ExpectedCertificate& e : expected) {
    targets.push_back({&e, e.certificate, e.plan, e.spki, nullptr, {}});
  }
  VerifyReport report;
  for (Target& t : targets) {  // every certificate for the key is this target's
    if (!t.spki) continue;
    auto [begin, end] = by_spki.equal_range(*t.spki);
    std::vector<Candidate*> found;
    for (auto it = begin; it != end; ++it) {
      if (!it->second->used) found.push_back(it->second);
    }
    if (found.empty()) continue;
    t.paired = *std::min_element(found.begin(), found.end(), [&](Candidate* a, Candidate* b) {
      return better(*a, *b, options.at);
    });
    for (Candidate* c : found) {
      c->used = true;
      if (c != t.paired) report.superseded.push_back(superseded_by(*c, t));
    }
  }
  for (Target& t : targets) {  // by name: the server's name in the SANs
    if (t.paired != nullptr) continue;
    auto [begin, end] = by_name.equal_range(t.pairing_name());
    for (auto it = begin; it != end; ++it) {
      Candidate* c = it->second;
      // A shared certificate is found by its CN (sip.<D> for the Edge), which a Front End's
      // certificate also carries as a SAN: only a certificate with that CN is the pool's.
      if (t.plan.shared && !same_dns_name(c->facts.common_name, t.plan.common_name)) continue;
      if (!c->used && (t.paired == nullptr || better_by_name(*c, *t.paired, t.plan, options.at))) {
        t.paired = c;
      }
    }
    if (t.paired != nullptr) t.paired->used = true;
  }
  // Once every server has its certificate: a further leaf with the name of a server whose key is
  // unknown is that server's too (a renewal, as further certificates for one key are above), not
  // a certificate of no server. Where the key is known, a leaf for another key stays unmatched.
  for (Target& t : targets) {
    if (t.paired == nullptr) continue;
    auto [begin, end] = by_name.equal_range(t.pairing_name());
    for (auto it = begin; it != end; ++it) {
      Candidate* c = it->second;
      if (c->used || c->chain_material) continue;
      bool same_key = c->facts.spki_sha256 == t.paired->facts.spki_sha256;
      if (t.plan.shared && !same_key) {
        // Another key for what the members share, current and with its CN: a second
        // certificate given to some member (pool.same-certificate's); one that has expired, or
        // that only shares a SAN (a Front End's sip.<D>), is not.
        if (!same_dns_name(c->facts.common_name, t.plan.common_name)) continue;
        c->used = true;
        if (valid_at(*c, options.at)) {
          t.rivals.push_back(c);
        } else {
          report.superseded.push_back(superseded_by(*c, t));
        }
      } else if (!t.spki) {
        c->used = true;
        report.superseded.push_back(superseded_by(*c, t));
      }
    }
  }

  std::vector<const Target*> checked;
  for (const Target& t : targets) {
    bool server_wanted =
        wanted(options.servers, t.plan.server_fqdn) ||
        std::any_of(t.plan.members.begin(), t.plan.members.end(),
                    [&](const std::string& m) { return wanted(options.servers, m); });
    if (server_wanted && wanted(options.certificates, t.cert->name)) checked.push_back(&t);
  }
  report.servers.resize(checked.size());
  // Each certificate's checks read only what is shared (the spec, the trust store, the chain
  // material, whose extensions distinct_candidates has already cached) and write its own report.
  parallel_for(checked.size(), options.jobs, [&](std::size_t i) {
    const Target& t = *checked[i];
    ServerReport& sr = report.servers[i];
    sr.server = t.plan.server_fqdn;
    sr.shared = t.plan.shared;
    sr.members = t.plan.members;
    sr.certificate = t.cert->name;
    sr.profile = t.cert->profile.name;
    if (t.paired == nullptr) {
      sr.checks.push_back({std::string(check::kCertPresent), CheckStatus::kFail,
                           "no certificate for " + describe_target(t) +
                               " in the input (none has its key or its name in the SANs)",
                           "a certificate for " + describe_target(t), "none"});
      return;
    }
    sr.cert = t.paired->input->file;
    sr.input_index = static_cast<std::size_t>(t.paired->input - input.data());
    CertificateChecks in;
    in.spec = &spec;
    in.profile = &t.cert->profile;
    in.plan = &t.plan;
    in.leaf = t.paired->input->cert.get();
    in.facts = &t.paired->facts;
    in.supplied = chain_material;
    in.supplied.push_back(in.leaf);
    in.trust = trust.get();
    in.server_spki = t.spki;
    in.options = &options;
    sr.checks = run_checks(in);
    if (t.plan.shared) sr.checks.push_back(same_certificate_check(t));
    sr.template_name = t.paired->facts.template_name;
  });
  for (const Candidate& c : candidates) {
    if (c.used || c.chain_material) continue;
    report.unmatched.push_back(
        {c.input->file, join_name(c.facts.subject),
         "matches no server of " + spec.file.string() + " (neither a server's key nor its name)"});
  }
  // Who else can change the key folder, then the keys of the servers checked, whether or not
  // pairing needed them (a CSR comes first).
  if (std::optional<FolderSafety> safety = folder_safety(options.key_dir)) {
    report.warnings.push_back(std::move(safety->warning));
  }
  for (const Target* target : checked) {
    const Target& t = *target;
    fs::path key =
        options.key_dir / output_file_name(t.plan.server_fqdn, t.cert->name, OutputFile::kKey);
    if (auto w = check_key_permissions(key)) report.warnings.push_back(std::move(*w));
  }
  return report;
}

std::time_t parse_time(const std::string& text) {
  static const std::regex kEpoch(R"(@(\d{1,12}))");
  static const std::regex kDate(
      R"((\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?Z?)?)");
  std::smatch m;
  if (std::regex_match(text, m, kEpoch)) return static_cast<std::time_t>(std::stoll(m[1].str()));
  if (!std::regex_match(text, m, kDate)) {
    throw UsageError("--at " + quote_value(text) +
                     ": expected 2026-11-25T10:00:00Z, 2026-11-25 or @SECONDS");
  }
  std::tm tm{};
  tm.tm_year = std::stoi(m[1].str()) - 1900;
  tm.tm_mon = std::stoi(m[2].str()) - 1;
  tm.tm_mday = std::stoi(m[3].str());
  tm.tm_hour = m[4].matched ? std::stoi(m[4].str()) : 0;
  tm.tm_min = m[5].matched ? std::stoi(m[5].str()) : 0;
  tm.tm_sec = m[6].matched ? std::stoi(m[6].str()) : 0;
  // timegm() would take 2027-02-31 as 2027-03-03: a date that does not exist is refused instead.
  const std::chrono::year_month_day date{std::chrono::year(tm.tm_year + 1900),
                                         std::chrono::month(static_cast<unsigned>(tm.tm_mon + 1)),
                                         std::chrono::day(static_cast<unsigned>(tm.tm_mday))};
  if (!date.ok() || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    throw UsageError("--at '" + text + "': not a valid date and time");
  }
  return ::timegm(&tm);
}

}  // namespace poolcert

namespace poolcert {
namespace {

void add_file(CertificateInputs& out, const fs::path& file) {
  X509Objects objects = load_x509_objects(file);
  if (objects.certificates.empty()) {
    throw BadFileError(file, objects.requests.empty()
                                 ? "holds no certificate"
                                 : "is a certificate request, not a certificate");
  }
  for (auto& cert : objects.certificates) out.certs.push_back({file, std::move(cert)});
}

}  // namespace

CertificateInputs read_certificate_files(const std::vector<fs::path>& files) {
  CertificateInputs out;
  for (const fs::path& file : files) add_file(out, file);
  return out;
}

// Read on one thread: decoding certificates on several at once costs more CPU than it saves
// time, as OpenSSL 3.0 takes a shared lock for every decoder it considers for each public key
// (measured with 2000 certificates on 2 threads: 20 ms sooner, 60 ms more CPU).
CertificateInputs read_certificate_dir(const fs::path& dir) {
  static const std::vector<std::string> kCertificateExtensions = {".cer", ".crt", ".pem",
                                                                  ".der", ".p7b", ".p7c"};
  std::error_code ec;
  std::vector<std::pair<fs::path, bool>> entries;  // path, is a regular file
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    entries.emplace_back(it->path(), it->is_regular_file(type_ec));
  }
  if (ec) throw IoError(ErrorKind::kBadInput, dir, "read folder", ec.value());
  std::sort(entries.begin(), entries.end());
  CertificateInputs out;
  for (const auto& [file, regular] : entries) {
    std::string ext = to_lower_ascii(file.extension().string());
    // Only regular files are opened: a pipe or a device would block or never end. Folders and
    // other entries are listed as ignored, like files of other types, never skipped unsaid.
    if (!regular || std::find(kCertificateExtensions.begin(), kCertificateExtensions.end(), ext) ==
                        kCertificateExtensions.end()) {
      out.ignored.push_back(file);
      continue;
    }
    try {
      add_file(out, file);
    } catch (const Error& e) {
      out.errors.emplace_back(file, e.what());
    }
  }
  return out;
}

}  // namespace poolcert
