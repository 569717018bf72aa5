#include "render_json.hpp"

#include <map>

#include "poolcert/ca/lab_ca.hpp"
#include "poolcert/x509/inspect.hpp"

namespace poolcert::cli {
namespace {

using nlohmann::json;

json key_json(const KeySpec& key) {
  return {{"type", key_type_name(key.type)},
          {"bits", key.bits},
          {"curve", key.type == KeyType::kEcdsa ? json(key.curve) : json(nullptr)},
          {"encrypt", key.encrypt}};
}

json sans_json(const CertificatePlan& plan) {
  json names = json::array();
  for (const DerivedName& d : plan.sans) names.push_back(d.name);
  return names;
}

json optional_time(const std::optional<std::time_t>& t) {
  return t ? json(format_utc(*t)) : json(nullptr);
}

// A spec without [[certificate]] has one unnamed certificate: null in JSON.
json certificate_json(const std::string& name) {
  return name.empty() ? json(nullptr) : json(name);
}

json record_json(const DnsRecord& r) {
  bool srv = r.type == "SRV";
  return {{"zone", r.zone},
          {"name", r.name},
          {"type", r.type},
          {"ttl", r.ttl},
          {"address", r.type == "A" ? json(r.address) : json(nullptr)},
          {"priority", srv ? json(r.priority) : json(nullptr)},
          {"weight", srv ? json(r.weight) : json(nullptr)},
          {"port", srv ? json(r.port) : json(nullptr)},
          {"target", r.type == "A" ? json(nullptr) : json(r.target)},
          {"placeholder", r.placeholder},
          {"legacy", r.legacy},
          {"view", r.view},
          {"why", r.why}};
}

json facts_json(const X509Facts& f) {
  bool cert = f.kind == "certificate";
  return {{"kind", f.kind},
          {"subject", join_name(f.subject)},
          {"common_name", f.common_name},
          {"issuer", cert ? json(join_name(f.issuer)) : json(nullptr)},
          {"serial", cert ? json(f.serial) : json(nullptr)},
          {"sans", f.dns_sans},
          {"other_sans", f.other_sans},
          {"eku", f.eku},
          {"key_usage", f.key_usage},
          {"basic_constraints_ca", f.is_ca ? json(*f.is_ca) : json(nullptr)},
          {"crl_distribution_points", f.crl_distribution_points},
          {"key",
           {{"type", f.key.type},
            {"bits", f.key.bits},
            {"curve", f.key.curve.empty() ? json(nullptr) : json(f.key.curve)}}},
          {"signature_algorithm", f.signature_algorithm},
          {"not_before", optional_time(f.not_before)},
          {"not_after", optional_time(f.not_after)},
          {"spki_sha256", f.spki_sha256},
          {"template", f.template_name.empty() ? json(nullptr) : json(f.template_name)},
          {"signature_valid", f.signature_valid ? json(*f.signature_valid) : json(nullptr)}};
}

// [{"file","mode":"0644","message"}]: files to fix that did not stop the command.
json file_warnings_json(const std::vector<FileWarning>& warnings) {
  json out = json::array();
  for (const FileWarning& w : warnings) {
    out.push_back(
        {{"file", w.file.string()}, {"mode", octal_mode(w.mode)}, {"message", w.message}});
  }
  return out;
}

// A verify report has tens of thousands of checks: they are built member by member and moved into
// place, as the initializer-list form makes each {key, value} a two-element array first (and
// copied each server's whole list of checks): half of verify_json's time for 2000 certificates.
// The check's strings are moved, not copied, out of the report (verify_json consumes it): a
// second copy of every message was a third of the remaining build time.
json check_json(CheckResult&& c) {
  json::object_t out;
  out.emplace("id", std::move(c.id));
  out.emplace("status", check_status_name(c.status));
  out.emplace("message", std::move(c.message));
  out.emplace("expected", std::move(c.expected));
  out.emplace("found", std::move(c.found));
  return out;
}

json server_report_json(ServerReport&& s) {
  json::array_t checks;
  checks.reserve(s.checks.size());
  for (CheckResult& c : s.checks) checks.push_back(check_json(std::move(c)));
  json::object_t out;
  out.emplace("server", std::move(s.server));
  out.emplace("shared", s.shared);
  out.emplace("members", s.shared ? json(std::move(s.members)) : json(nullptr));
  out.emplace("certificate", certificate_json(s.certificate));
  out.emplace("profile", std::move(s.profile));
  out.emplace("template",
              s.template_name.empty() ? json(nullptr) : json(std::move(s.template_name)));
  out.emplace("cert", s.cert.empty() ? json(nullptr) : json(s.cert.string()));
  out.emplace("checks", std::move(checks));
  return out;
}

// What plan --json and csr --json both say of a job: which certificate of which server, under
// which spec and profile.
json job_json(const ServerJob& job, const CertificatePlan& plan) {
  return {{"server", plan.server_fqdn},
          {"shared", plan.shared},
          {"members", plan.shared ? json(plan.members) : json(nullptr)},
          {"certificate", certificate_json(plan.certificate)},
          {"template", plan.template_name.empty() ? json(nullptr) : json(plan.template_name)},
          {"exportable", plan.exportable},
          {"friendly_name", plan.friendly_name},
          {"spec", job.spec->file.string()},
          {"profile", job.certificate->profile.name}};
}

// Which product's rules a spec is read with (README: plan says so).
json spec_json(const PoolSpec& spec) {
  return {{"file", spec.file.string()},
          {"product", spec.product.empty() ? json(nullptr) : json(spec.product)},
          {"rule_products", spec.rule_products},
          {"auto_logon", spec.auto_logon},
          {"mobility", spec.mobility},
          {"public_im", spec.public_im},
          {"dns_load_balancing", spec.dns_load_balancing}};
}

}  // namespace

json plan_json(const std::vector<PoolSpec>& specs, const std::vector<ServerJob>& jobs,
               const std::vector<std::string>& warnings) {
  json spec_list = json::array();
  for (const PoolSpec& spec : specs) spec_list.push_back(spec_json(spec));
  json servers = json::array();
  for (const ServerJob& job : jobs) {
    const CertificatePlan plan = job.plan();
    json reasons = json::array();
    for (const DerivedName& d : plan.sans) reasons.push_back(d.reason);
    json out = job_json(job, plan);
    out.update(json{{"subject", join_name(plan.subject)},
                    {"common_name", plan.common_name},
                    {"sans", sans_json(plan)},
                    {"san_reasons", reasons},
                    {"eku", plan.eku},
                    {"eku_required", plan.eku_required},
                    {"key_usage", plan.key_usage},
                    {"key", key_json(plan.key)},
                    {"signature_digest", plan.digest},
                    {"output_dir", job.output_dir.string()},
                    {"key_path", job.key_path().string()},
                    {"csr_path", job.csr_path().string()},
                    {"key_exists", job.key_exists},
                    {"key_action", key_action_name(job.action)}});
    servers.push_back(std::move(out));
  }
  return {{"specs", spec_list}, {"servers", servers}, {"warnings", warnings}};
}

json csr_json(const std::vector<ServerJob>& jobs, const std::vector<ServerResult>& results,
              const std::vector<FileWarning>& warnings) {
  json servers = json::array();
  int created = 0, reused = 0, rekeyed = 0, failed = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const ServerJob& job = jobs[i];
    const CertificatePlan plan = job.plan();
    const ServerResult& r = results[i];
    if (!r.ok) {
      ++failed;
    } else if (r.action == KeyAction::kReuse) {
      ++reused;
    } else if (r.action == KeyAction::kRekey) {
      ++rekeyed;
    } else {
      ++created;
    }
    json out = job_json(job, plan);
    out.update(json{{"status", r.ok ? "ok" : "failed"},
                    {"error", r.ok ? json(nullptr) : json(r.error)},
                    {"key_path", job.key_path().string()},
                    {"csr_path", job.csr_path().string()},
                    {"key_action", key_action_name(r.action)},
                    {"key_backup", r.key_backup ? json(r.key_backup->string()) : json(nullptr)},
                    {"subject", join_name(plan.subject)},
                    {"sans", sans_json(plan)},
                    {"spki_sha256", r.ok ? json(r.spki_sha256) : json(nullptr)}});
    servers.push_back(std::move(out));
  }
  return {{"servers", servers},
          {"warnings", file_warnings_json(warnings)},
          {"summary",
           {{"servers", jobs.size()},
            {"created", created},
            {"reused", reused},
            {"rekeyed", rekeyed},
            {"failed", failed}}}};
}

json condition_json(const Condition& c) {
  return {{"when", c.when}, {"unless", c.unless}};
}

json profile_json(const Profile& p) {
  json records = json::array();
  for (const DnsRecordRule& r : p.dns_records) {
    json rec = {{"type", r.type},
                {"name", r.name},
                {"address", r.address.empty() ? json(nullptr) : json(r.address)},
                {"target", r.target.empty() ? json(nullptr) : json(r.target)},
                {"port", r.port.empty() ? json(nullptr) : json(r.port)},
                {"per", r.per_server ? "server" : "pool"},
                {"legacy", r.legacy},
                {"view", r.view},
                {"why", r.why}};
    rec.update(condition_json(r.condition));
    records.push_back(std::move(rec));
  }
  json patterns = json::array();
  json rules = json::array();
  for (const NameRule& n : p.san_rules) {
    patterns.push_back(n.pattern);
    json rule = {{"pattern", n.pattern}, {"why", n.why}, {"required", n.required}};
    rule.update(condition_json(n.condition));
    rules.push_back(std::move(rule));
  }
  json eku_when = json::object();
  for (const EkuWhen& e : p.eku_when) eku_when[e.when] = e.ekus;
  const VerifyPolicy& v = p.verify;
  return {{"name", p.name},
          {"file", p.file.string()},
          {"description", p.description},
          {"source", p.source},
          {"role", p.role},
          {"products", p.products},
          {"products_source", p.products_source},
          {"cn", p.cn_pattern},
          {"sans", patterns},
          {"san_rules", rules},
          {"wildcards", p.allow_wildcards},
          {"wildcard_replaces", p.wildcard_replaces},
          {"eku_request", p.eku_request},
          {"eku_require", p.eku_require},
          {"eku_recommend", p.eku_recommend},
          {"eku_request_when", eku_when},
          {"key_usage", p.key_usage},
          {"allowed_keys", describe_allowed_keys(p)},
          {"default_key", describe_key(p.default_key)},
          {"exportable", p.exportable},
          {"shared", p.shared},
          {"template", p.template_name.empty() ? json(nullptr) : json(p.template_name)},
          {"signature",
           {{"digest", p.digest},
            {"allow_sha1", v.sha1 != CheckLevel::kFail},
            {"allow_rsassa_pss", v.rsassa_pss != CheckLevel::kFail}}},
          {"verify",
           {{"cdp", check_level_name(v.cdp)},
            {"cdp_http", check_level_name(v.cdp_http)},
            {"aia", check_level_name(v.aia)},
            {"sha1", check_level_name(v.sha1)},
            {"rsassa_pss", check_level_name(v.rsassa_pss)},
            {"min_rsa_bits", v.min_rsa_bits}}},
          {"dns_records", records}};
}

json profiles_json(const std::vector<Profile>& profiles) {
  json out = json::array();
  for (const Profile& p : profiles) out.push_back(profile_json(p));
  return {{"profiles", out}};
}

json inf_json(const std::vector<ServerJob>& jobs, const std::vector<std::filesystem::path>& infs) {
  json servers = json::array();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const CertificatePlan plan = jobs[i].plan();
    servers.push_back({{"server", jobs[i].server_fqdn()},
                       {"shared", plan.shared},
                       {"certificate", certificate_json(plan.certificate)},
                       {"spec", jobs[i].spec->file.string()},
                       {"inf_path", infs[i].string()},
                       {"friendly_name", plan.friendly_name},
                       {"subject", join_name(plan.subject)},
                       {"sans", sans_json(plan)}});
  }
  return {{"servers", servers}};
}

json inspect_json(const std::vector<InspectedFile>& files) {
  json out = json::array();
  for (const InspectedFile& f : files) {
    json objects = json::array();
    for (const X509Facts& facts : f.objects) objects.push_back(facts_json(facts));
    out.push_back({{"file", f.file.string()},
                   {"encoding", f.encoding.empty() ? json(nullptr) : json(f.encoding)},
                   {"error", f.error.empty() ? json(nullptr) : json(f.error)},
                   {"objects", objects}});
  }
  return {{"files", out}};
}

json verify_json(VerifyReport&& report, const CertificateInputs& inputs) {
  json servers = json::array();
  for (ServerReport& s : report.servers) servers.push_back(server_report_json(std::move(s)));
  json unmatched = json::array();
  for (const UnmatchedCertificate& u : report.unmatched) {
    unmatched.push_back(
        {{"cert", u.cert.string()}, {"subject", u.subject}, {"message", u.message}});
  }
  json superseded = json::array();
  for (const UnmatchedCertificate& u : report.superseded) {
    superseded.push_back(
        {{"cert", u.cert.string()}, {"subject", u.subject}, {"message", u.message}});
  }
  json errors = json::array();
  for (const auto& [file, message] : inputs.errors) {
    errors.push_back({{"file", file.string()}, {"message", message}});
  }
  json ignored = json::array();
  for (const auto& file : inputs.ignored) ignored.push_back(file.string());
  // Moved in: an lvalue in an initializer list is copied, and `servers` is the whole report.
  // The summary reads only the checks' statuses, which moving their strings out leaves.
  return {{"servers", std::move(servers)},
          {"unmatched", std::move(unmatched)},
          {"superseded", std::move(superseded)},
          {"errors", std::move(errors)},
          {"ignored", std::move(ignored)},
          {"warnings", file_warnings_json(report.warnings)},
          {"summary",
           {{"pass", report.count(CheckStatus::kPass)},
            {"warn", report.count(CheckStatus::kWarn)},
            {"fail", report.count(CheckStatus::kFail)}}}};
}

json pfx_json(const std::filesystem::path& pfx, const std::string& server,
              const std::string& friendly_name, std::size_t chain_length,
              const std::string& encryption, bool forced,
              const std::vector<FileWarning>& warnings) {
  return {{"pfx", pfx.string()},
          {"server", server},
          {"friendly_name", friendly_name},
          {"chain_certificates", chain_length},
          {"encryption", encryption},
          {"forced", forced},
          {"warnings", file_warnings_json(warnings)}};
}

json dns_json(const std::vector<DnsRecord>& records, const std::vector<std::string>& warnings) {
  json out = json::array();
  for (const DnsRecord& r : records) out.push_back(record_json(r));
  return {{"records", out}, {"warnings", warnings}};
}

json dns_check_json(const std::vector<RecordCheck>& checks,
                    const std::vector<std::string>& warnings) {
  json out = json::array();
  std::map<std::string, int> summary = {
      {"present", 0}, {"missing", 0}, {"different", 0}, {"error", 0}};
  for (const RecordCheck& c : checks) {
    json r = record_json(c.expected);
    r["status"] = record_status_name(c.status);
    r["message"] = c.message;
    r["found"] = c.found;
    out.push_back(r);
    ++summary[record_status_name(c.status)];
  }
  return {{"records", out}, {"warnings", warnings}, {"summary", summary}};
}

json probe_json(const std::string& target, const std::string& sni, const ProbeResult& result,
                std::size_t chain_length, VerifyReport&& report) {
  json out = verify_json(std::move(report), CertificateInputs{});
  out.erase("errors");
  out.erase("ignored");
  out["target"] = target;
  out["address"] = result.address;
  out["sni"] = sni.empty() ? json(nullptr) : json(sni);
  out["protocol"] = result.protocol;
  out["cipher"] = result.cipher;
  out["chain_length"] = chain_length;
  return out;
}

}  // namespace poolcert::cli

// --- poolcert ca (appended with the lab CA; its include belongs with the others above) -----

namespace poolcert::cli {

nlohmann::json ca_json(const LabCaInit& init) {
  nlohmann::json certs = nlohmann::json::array();
  for (const LabCaFile& f : init.files) {
    certs.push_back({{"role", f.role},
                     {"certificate", f.certificate.string()},
                     {"key", f.key.string()},
                     {"subject", join_name(f.facts.subject)},
                     {"serial", f.facts.serial},
                     {"not_after", optional_time(f.facts.not_after)}});
  }
  auto url = [](const std::string& u) {
    return u.empty() ? nlohmann::json(nullptr) : nlohmann::json(u);
  };
  return {{"dir", init.dir.string()},
          {"config", init.config.string()},
          {"certificates", certs},
          {"crl_distribution_point", url(init.cdp_url)},
          {"authority_info_access", url(init.aia_url)}};
}

nlohmann::json ca_json(const std::vector<IssuedCertificate>& issued) {
  nlohmann::json list = nlohmann::json::array();
  for (const IssuedCertificate& i : issued) {
    list.push_back({{"csr", i.csr.string()},
                    {"certificate", i.certificate.string()},
                    {"chain", i.chain.string()},
                    {"subject", join_name(i.facts.subject)},
                    {"sans", i.facts.dns_sans},
                    {"serial", i.facts.serial},
                    {"not_after", optional_time(i.facts.not_after)}});
  }
  return {{"issued", list}};
}

void print_json(std::ostream& out, const nlohmann::json& doc) {
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace poolcert::cli
