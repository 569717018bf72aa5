// The lab CA's folder: making it (ca init), reading it back (its settings in ca.json), and issuing
// a batch of requests into .cer/.p7b files (ca sign). The certificates themselves are made in
// lab_ca_sign.cpp.
//
// ca.json is the CA's own state, written and read only here: nlohmann::json (already a
// dependency) with a strict reader, so spec_toml.cpp stays the one file that knows TOML and the
// CLI stays free of CA rules.
#include "poolcert/ca/lab_ca.hpp"

#include <openssl/err.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/model/layout.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/x509/key.hpp"
#include "poolcert/x509/x509_load.hpp"
#include "poolcert/x509/x509_vocab.hpp"

namespace poolcert {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kPublicMode = 0644;  // certificates and settings hold only public data
constexpr long kSecondsPerDay = 86400;
constexpr const char* kConfigName = "ca.json";
constexpr const char* kConfigFormat = "poolcert-lab-ca/1";
// Every name a lab CA folder may hold: any of them there means "a CA lives here".
constexpr std::array<const char*, 5> kCaFileNames = {"ca.json", "root.key", "root.cer",
                                                     "intermediate.key", "intermediate.cer"};

bool exists_no_follow(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

// An http(s) URL for leaves to fetch (DOMAIN.md: an HTTP CDP reaches clients outside the
// domain) or an ldap one; IA5 text without spaces or commas (RFC 5280 4.2.1.6: a URI).
std::string url_problem(const std::string& url) {
  std::string lower = url;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  bool scheme = false;
  for (const char* prefix : {"http://", "https://", "ldap://"}) {
    std::string p = prefix;
    scheme = scheme || (lower.rfind(p, 0) == 0 && lower.size() > p.size());
  }
  if (!scheme) return quote_value(url) + " is not an http://, https:// or ldap:// URL";
  bool clean = std::all_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  return clean ? ""
               : quote_value(url) + " holds a space or a character that is not printable ASCII";
}

void check_settings(const LabCaSettings& s) {
  for (const char* suffix : {" Root CA", " Issuing CA"}) {
    std::string problem = subject_value_problem("CN", s.name + suffix);
    if (s.name.empty() || !problem.empty()) {
      throw UsageError("--name " + quote_value(s.name) + ": " +
                       (s.name.empty() ? "empty" : problem));
    }
  }
  if (!s.cdp_url.empty() && !url_problem(s.cdp_url).empty())
    throw UsageError("--cdp: " + url_problem(s.cdp_url));
  if (!s.aia_url.empty() && !url_problem(s.aia_url).empty())
    throw UsageError("--aia: " + url_problem(s.aia_url));
  if (s.days < 1 || s.days > 36500)
    throw UsageError("--days " + std::to_string(s.days) + ": give 1 to 36500");
  if (s.key_bits != 2048 && s.key_bits != 3072 && s.key_bits != 4096)
    throw UsageError("CA key size " + std::to_string(s.key_bits) + ": give 2048, 3072 or 4096");
}

// Writes each file with Existing::kKeep, in order; on any failure removes the ones it wrote.
class FileBatch {
 public:
  void add(fs::path path, std::string data, mode_t mode) {
    files_.push_back({std::move(path), std::move(data), mode});
  }
  std::vector<fs::path> commit() {
    std::vector<fs::path> written;
    try {
      for (const File& f : files_) {
        write_file_atomic(f.path, f.data, f.mode, Existing::kKeep);
        written.push_back(f.path);
      }
    } catch (...) {
      for (auto it = written.rbegin(); it != written.rend(); ++it) {
        std::error_code ec;
        fs::remove(*it, ec);  // best effort: the original error is the one to report
      }
      throw;
    }
    return written;
  }

 private:
  struct File {
    fs::path path;
    std::string data;
    mode_t mode;
  };
  std::vector<File> files_;
};

json optional_url(const std::string& url) {
  return url.empty() ? json(nullptr) : json(url);
}

std::string config_text(const LabCaSettings& s) {
  std::string issuer = s.intermediate ? "intermediate" : "root";
  json chain = s.intermediate ? json{"intermediate.cer", "root.cer"} : json{"root.cer"};
  json config = {{"format", kConfigFormat},
                 {"name", s.name},
                 {"issuer_certificate", issuer + ".cer"},
                 {"issuer_key", issuer + ".key"},
                 {"chain", chain},
                 {"crl_distribution_point", optional_url(s.cdp_url)},
                 {"authority_info_access", optional_url(s.aia_url)}};
  return config.dump(2) + "\n";
}

// Strict reading of ca.json: every field present with its type, nothing else.
class ConfigReader {
 public:
  ConfigReader(fs::path file, const json& doc) : file_(std::move(file)), doc_(doc) {
    if (!doc_.is_object()) fail("", "not a JSON object");
    for (const auto& [key, value] : doc_.items()) {
      (void)value;
      if (!kFields.contains(key))
        fail(key, "unknown field (a typo? expected one of " + field_list() + ")");
    }
  }
  std::string text(const char* field) const {
    const json& v = at(field);
    if (!v.is_string() || v.get<std::string>().empty()) fail(field, "must be a non-empty string");
    return v.get<std::string>();
  }
  std::string url(const char* field) const {
    const json& v = at(field);
    if (v.is_null()) return "";
    if (!v.is_string()) fail(field, "must be a URL string or null");
    std::string problem = url_problem(v.get<std::string>());
    if (!problem.empty()) fail(field, problem);
    return v.get<std::string>();
  }
  // A file of the CA folder: a plain name, never a path out of it.
  std::string file_name(const char* field, const json& v) const {
    std::string name = v.is_string() ? v.get<std::string>() : "";
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      fail(field, "must name a file in the CA folder (no '/')");
    return name;
  }
  std::vector<std::string> chain() const {
    const json& v = at("chain");
    if (!v.is_array() || v.empty())
      fail("chain", "must list the CA certificates, the issuing one first");
    std::vector<std::string> names;
    for (const json& item : v) names.push_back(file_name("chain", item));
    return names;
  }
  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw BadFileError(file_, (field.empty() ? "" : field + ": ") + message);
  }

 private:
  const json& at(const char* field) const {
    if (!doc_.contains(field)) fail(field, "missing");
    return doc_.at(field);
  }
  static std::string field_list() {
    std::string out;
    for (const std::string& f : kFields) out += (out.empty() ? "" : ", ") + f;
    return out;
  }
  static inline const std::set<std::string> kFields = {"format",
                                                       "name",
                                                       "issuer_certificate",
                                                       "issuer_key",
                                                       "chain",
                                                       "crl_distribution_point",
                                                       "authority_info_access"};
  fs::path file_;
  const json& doc_;
};

ossl::UniquePtr<X509> load_one_certificate(const fs::path& file) {
  X509Objects objects = load_x509_objects(file);
  if (objects.certificates.size() != 1 || !objects.requests.empty())
    throw BadFileError(file, "must hold exactly one certificate");
  return std::move(objects.certificates.front());
}

// Each certificate must be a CA issued by the next; the last must be self-signed.
void check_chain(const std::vector<ossl::UniquePtr<X509>>& chain,
                 const std::vector<std::string>& names, const fs::path& dir) {
  for (std::size_t i = 0; i < chain.size(); ++i) {
    X509* cert = chain[i].get();
    X509* issuer = i + 1 < chain.size() ? chain[i + 1].get() : cert;
    if (X509_check_ca(cert) == 0) throw BadFileError(dir / names[i], "not a CA certificate");
    if (X509_check_issued(issuer, cert) != X509_V_OK) {
      throw BadFileError(dir / names[i], i + 1 < chain.size()
                                             ? "not issued by " + names[i + 1] + " (chain order)"
                                             : "the last certificate of the chain is not a root");
    }
  }
}

std::string stem_of(const fs::path& csr) {
  return csr.stem().string();
}

// A leaf must not outlive the certificate that issues it.
void check_leaf_days(const LabCa& ca, int days, std::time_t now) {
  std::optional<std::time_t> ca_end = certificate_facts(ca.chain.front().get()).not_after;
  if (days < 1 || (ca_end && now + days * kSecondsPerDay > *ca_end)) {
    throw UsageError("--days " + std::to_string(days) +
                     ": a leaf must be valid 1 day or more and end before the issuing CA (" +
                     (ca_end ? format_utc(*ca_end) : "?") + ")");
  }
}

// SignJob is one request of `ca sign`, read and checked, with where its outputs go.
struct SignJob {
  ossl::UniquePtr<X509_REQ> req;
  LeafOptions leaf;
  IssuedCertificate issued;
};

// Reads one request and checks it can be issued: one PKCS#10 whose self-signature verifies (the
// requester holds the key), outputs not there yet.
SignJob prepare_job(const fs::path& csr, const SignOptions& options, std::time_t now) {
  X509Objects objects = load_x509_objects(csr);
  if (objects.requests.size() != 1 || !objects.certificates.empty())
    throw BadFileError(csr, "must hold exactly one certificate request (PKCS#10)");
  X509Facts facts = request_facts(objects.requests.front().get());
  if (facts.signature_valid != true) {
    throw BadFileError(csr,
                       "the request's self-signature does not verify (altered or corrupt, "
                       "or not made with the key it carries): not issuing");
  }
  fs::path out_dir = options.out_dir.empty() ? csr.parent_path() : options.out_dir;
  if (out_dir.empty()) out_dir = ".";
  SignJob job{std::move(objects.requests.front()), {}, {}};
  job.leaf.days = options.days;
  job.leaf.now = now;
  if (options.spec != nullptr) job.leaf.usages = usages_from_spec(*options.spec, facts, csr);
  job.issued.csr = csr;
  job.issued.certificate = out_dir / (stem_of(csr) + ".cer");
  job.issued.chain = out_dir / (stem_of(csr) + ".p7b");
  for (const fs::path& out : {job.issued.certificate, job.issued.chain}) {
    if (exists_no_follow(out))
      throw UsageError(out.string() + ": already exists; poolcert never overwrites it");
  }
  return job;
}

}  // namespace

LabCaInit init_lab_ca(const fs::path& dir, const LabCaSettings& settings) {
  check_settings(settings);
  for (const char* name : kCaFileNames) {
    if (exists_no_follow(dir / name)) {
      throw UsageError(dir.string() + " already holds a lab CA (" + name +
                       "); poolcert never overwrites a CA: give another folder");
    }
  }
  // Everything is made in memory first: a failure here has written nothing.
  std::time_t now = std::time(nullptr);
  KeySpec key_spec{KeyType::kRsa, settings.key_bits, "", false};
  ossl::UniquePtr<EVP_PKEY> root_key = generate_key(key_spec);
  ossl::UniquePtr<X509> root =
      make_root_certificate(root_key.get(), settings.name + " Root CA", settings.days, now);
  ossl::UniquePtr<EVP_PKEY> inter_key;
  ossl::UniquePtr<X509> inter;
  if (settings.intermediate) {
    inter_key = generate_key(key_spec);
    inter = make_intermediate_certificate(inter_key.get(), settings.name + " Issuing CA",
                                          root.get(), root_key.get(), settings.days, now);
  }

  prepare_output_dir(dir);  // 0700 when it is made: it will hold the CA keys
  LabCaInit result{dir, dir / kConfigName, {}, settings.cdp_url, settings.aia_url};
  FileBatch batch;  // keys first, ca.json last: ca.json is what makes the folder a usable CA
  batch.add(dir / "root.key", encode_private_key(root_key.get(), std::nullopt), kKeyMode);
  if (inter)
    batch.add(dir / "intermediate.key", encode_private_key(inter_key.get(), std::nullopt),
              kKeyMode);
  batch.add(dir / "root.cer", encode_certificate_pem(root.get()), kPublicMode);
  result.files.push_back(
      {"root", dir / "root.cer", dir / "root.key", certificate_facts(root.get())});
  if (inter) {
    batch.add(dir / "intermediate.cer", encode_certificate_pem(inter.get()), kPublicMode);
    result.files.push_back({"intermediate", dir / "intermediate.cer", dir / "intermediate.key",
                            certificate_facts(inter.get())});
  }
  batch.add(result.config, config_text(settings), kPublicMode);
  try {
    batch.commit();
  } catch (const FileExistsError& e) {  // another run got there first
    throw UsageError(std::string(e.what()) + "; poolcert never overwrites a CA");
  }
  return result;
}

LabCa load_lab_ca(const fs::path& dir) {
  fs::path config_file = dir / kConfigName;
  if (!exists_no_follow(config_file)) {
    throw UsageError(dir.string() + " is not a lab CA folder: no " + kConfigName +
                     " (make one with poolcert ca init " + dir.string() + ")");
  }
  json doc;
  try {
    doc = json::parse(read_input_file(config_file, 1 << 20));
  } catch (const json::parse_error& e) {
    throw BadFileError(config_file, std::string("not valid JSON: ") + e.what());
  }
  ConfigReader config(config_file, doc);
  if (config.text("format") != kConfigFormat)
    config.fail("format", std::string("must be \"") + kConfigFormat + "\"");
  LabCa ca;
  ca.dir = dir;
  ca.name = config.text("name");
  ca.cdp_url = config.url("crl_distribution_point");
  ca.aia_url = config.url("authority_info_access");
  std::vector<std::string> names = config.chain();
  std::string issuer = config.file_name("issuer_certificate", doc.at("issuer_certificate"));
  if (issuer != names.front())
    config.fail("issuer_certificate", "must be the first certificate of chain");
  std::string key_name = config.file_name("issuer_key", doc.at("issuer_key"));
  for (const std::string& name : names) ca.chain.push_back(load_one_certificate(dir / name));
  check_chain(ca.chain, names, dir);
  ca.issuer_key = read_private_key(dir / key_name, std::nullopt);
  if (X509_check_private_key(ca.chain.front().get(), ca.issuer_key.get()) != 1) {
    ERR_clear_error();
    throw BadFileError(dir / key_name, "is not the key of " + issuer);
  }
  return ca;
}

LeafUsages usages_from_spec(const PoolSpec& spec, const X509Facts& request,
                            const fs::path& csr_file) {
  using Usages = std::pair<std::vector<std::string>, std::vector<std::string>>;
  std::set<Usages> all;
  std::set<Usages> by_name;
  std::set<Usages> by_content;
  std::set<std::string> request_sans(request.dns_sans.begin(), request.dns_sans.end());
  for (const ServerSpec& server : spec.servers) {
    for (const CertificatePlan& plan : derive_plans(spec, server)) {
      Usages usages{plan.eku, plan.key_usage};
      all.insert(usages);
      if (stem_of(csr_file) == output_stem(plan.server_fqdn, plan.certificate))
        by_name.insert(usages);
      std::set<std::string> plan_sans;
      for (const DerivedName& d : plan.sans) plan_sans.insert(d.name);
      if (plan.common_name == request.common_name && plan_sans == request_sans)
        by_content.insert(usages);
    }
  }
  for (const std::set<Usages>* found : {&all, &by_name, &by_content}) {
    if (found->size() == 1) return {found->begin()->first, found->begin()->second};
  }
  throw UsageError(csr_file.string() + ": not a request for a certificate of " +
                   spec.file.string() +
                   " (neither named <server>[.<certificate>].csr nor carrying a certificate's CN "
                   "and SANs): cannot tell which profile's EKU and key usage to issue with");
}

std::vector<IssuedCertificate> sign_requests(const LabCa& ca, const std::vector<fs::path>& csrs,
                                             const SignOptions& options) {
  std::time_t now = options.now != 0 ? options.now : std::time(nullptr);
  check_leaf_days(ca, options.days, now);
  // Read and check every request, and prove every output free, before writing anything.
  std::vector<SignJob> jobs;
  std::set<fs::path> outputs;
  std::set<fs::path> out_dirs;
  for (const fs::path& csr : csrs) {
    jobs.push_back(prepare_job(csr, options, now));
    for (const fs::path& out : {jobs.back().issued.certificate, jobs.back().issued.chain}) {
      if (!outputs.insert(out.lexically_normal()).second)
        throw UsageError(out.string() + ": two requests would both write it");
    }
    out_dirs.insert(jobs.back().issued.certificate.parent_path());
  }
  for (const fs::path& dir : out_dirs) prepare_output_dir(dir);

  std::vector<X509*> chain;
  for (const auto& c : ca.chain) chain.push_back(c.get());
  FileBatch batch;
  std::vector<IssuedCertificate> issued;
  for (SignJob& job : jobs) {
    ossl::UniquePtr<X509> leaf = issue_leaf(ca, job.req.get(), job.leaf);
    std::vector<X509*> p7b_certs = {leaf.get()};  // as AD CS returns it: leaf, then chain
    p7b_certs.insert(p7b_certs.end(), chain.begin(), chain.end());
    batch.add(job.issued.certificate, encode_certificate_pem(leaf.get()), kPublicMode);
    batch.add(job.issued.chain, encode_certs_p7b(p7b_certs), kPublicMode);
    job.issued.facts = certificate_facts(leaf.get());
    issued.push_back(std::move(job.issued));
  }
  try {
    batch.commit();
  } catch (const FileExistsError& e) {  // another run got there first
    throw UsageError(std::string(e.what()) + "; poolcert never overwrites it");
  }
  return issued;
}

}  // namespace poolcert
