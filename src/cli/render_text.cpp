#include "render_text.hpp"

#include <algorithm>
#include <set>

#include "poolcert/model/derive.hpp"

#include "cli_common.hpp"

namespace poolcert::cli {
namespace {

const char* ansi(Table::Colour c) {
  switch (c) {
    case Table::Colour::kGreen:
      return "\033[32m";
    case Table::Colour::kYellow:
      return "\033[33m";
    case Table::Colour::kRed:
      return "\033[31m";
    case Table::Colour::kNone:
      break;
  }
  return "";
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void line(std::ostream& out, const char* label, const std::string& value) {
  out << "  " << label
      << std::string(12 - std::min<std::size_t>(11, std::char_traits<char>::length(label)), ' ')
      << value << "\n";
}

}  // namespace

Table::Table(std::vector<std::string> header, bool colour)
    : header_(std::move(header)), colour_(colour) {}

void Table::add_row(std::vector<std::string> cells, std::vector<Colour> colours) {
  cells.resize(header_.size());
  colours.resize(header_.size(), Colour::kNone);
  rows_.push_back(std::move(cells));
  colours_.push_back(std::move(colours));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size());
  for (std::size_t c = 0; c < header_.size(); ++c) {
    width[c] = header_[c].size();
    for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& cells, const std::vector<Colour>* colours) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      bool last = c + 1 == cells.size();
      Colour colour = colours ? (*colours)[c] : Colour::kNone;
      bool paint = colour_ && colour != Colour::kNone;
      if (paint) out << ansi(colour);
      out << cells[c];
      if (paint) out << "\033[0m";
      if (!last) out << std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out << "\n";
  };
  print_row(header_, nullptr);
  for (std::size_t r = 0; r < rows_.size(); ++r) print_row(rows_[r], &colours_[r]);
}

std::string describe_rules(const PoolSpec& spec) {
  std::string rules = !spec.product.empty() ? "product " + spec.product
                      : spec.rule_products.empty()
                          ? "no product named, by the spec or its profiles: the profiles' own rules"
                          : "no product named: read with the rules of " + join(spec.rule_products) +
                                " (every product its profiles apply to)";
  std::set<std::string> used = placeholders_used(spec);  // a switch no profile names is moot
  std::vector<std::string> switches;
  for (auto [name, on] :
       {std::pair{"auto_logon", spec.auto_logon}, std::pair{"mobility", spec.mobility},
        std::pair{"public_im", spec.public_im},
        std::pair{"dns_load_balancing", spec.dns_load_balancing}}) {
    if (on && used.count(name) != 0) switches.push_back(name);
  }
  return rules + "; " + (switches.empty() ? "no switch on" : "on: " + join(switches));
}

void print_plan(std::ostream& out, const std::vector<PoolSpec>& specs,
                const std::vector<ServerJob>& jobs) {
  for (const PoolSpec& spec : specs) {
    out << spec.file.string() << ": " << describe_rules(spec) << "\n";
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const ServerJob& job = jobs[i];
    const CertificatePlan plan = job.plan();
    out << "\n";
    out << plan.server_fqdn << (plan.certificate.empty() ? "" : " " + plan.certificate) << "  ("
        << job.spec->file.string() << ", profile " << job.certificate->profile.name << ")\n";
    if (plan.shared) {
      line(out, "shared",
           "one key and CSR for the pool, the same certificate on " + join(plan.members));
    }
    line(out, "subject", join_name(plan.subject));
    std::vector<std::string> sans;
    for (const DerivedName& d : plan.sans) sans.push_back(d.name);
    line(out, "SANs", sans.empty() ? "(none)" : join(sans));
    line(out, "friendly", plan.friendly_name);
    line(out, "EKU", join(plan.eku));
    line(out, "key usage", join(plan.key_usage));
    std::string key = describe_key(plan.key) + (plan.key.encrypt ? ", encrypted" : "");
    line(out, "key", key + ", signed with " + plan.digest);
    std::string what = job.action == KeyAction::kCreate ? "will be created"
                       : job.action == KeyAction::kReuse
                           ? "exists: will be reused"
                           : "exists: will be moved aside as .bak and replaced";
    line(out, "key file", job.key_path().string() + " (" + what + ")");
    line(out, "CSR file", job.csr_path().string());
  }
}

void print_csr_results(std::ostream& out, const std::vector<ServerJob>& jobs,
                       const std::vector<ServerResult>& results, bool colour) {
  Table table({"SERVER", "KEY", "CSR", "NOTE"}, colour);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const ServerResult& r = results[i];
    if (!r.ok) {
      table.add_row({jobs[i].server_fqdn(), "FAILED", "-", r.error},
                    {Table::Colour::kNone, Table::Colour::kRed});
      continue;
    }
    std::string action = r.action == KeyAction::kCreate  ? "created"
                         : r.action == KeyAction::kReuse ? "reused"
                                                         : "rekeyed";
    std::string note = r.key_backup                    ? "old key kept as " + r.key_backup->string()
                       : r.action == KeyAction::kReuse ? "existing key kept, fresh CSR"
                                                       : "";
    std::string who = jobs[i].server_fqdn() + (jobs[i].shared() ? " (shared)" : "");
    table.add_row(
        {who, action + " " + jobs[i].key_path().string(), jobs[i].csr_path().string(), note},
        {Table::Colour::kNone,
         r.action == KeyAction::kReuse ? Table::Colour::kYellow : Table::Colour::kGreen});
  }
  table.print(out);
}

void print_inspect(std::ostream& out, const InspectedFile& file) {
  for (std::size_t i = 0; i < file.objects.size(); ++i) {
    const X509Facts& f = file.objects[i];
    out << file.file.string() << " [" << file.encoding << "] " << f.kind;
    if (file.objects.size() > 1) out << " " << (i + 1) << "/" << file.objects.size();
    out << "\n";
    line(out, "subject", join_name(f.subject));
    if (f.kind == "certificate") {
      line(out, "issuer", join_name(f.issuer));
      line(out, "serial", f.serial);
      line(out, "not before", f.not_before ? format_utc(*f.not_before) : "?");
      line(out, "not after", f.not_after ? format_utc(*f.not_after) : "?");
    }
    std::vector<std::string> sans = f.dns_sans;
    sans.insert(sans.end(), f.other_sans.begin(), f.other_sans.end());
    line(out, "SANs", sans.empty() ? "(none)" : join(sans));
    line(out, "EKU", f.has_eku ? join(f.eku) : "(none)");
    line(out, "key usage", f.has_key_usage ? join(f.key_usage) : "(none)");
    if (f.is_ca) line(out, "CA", *f.is_ca ? "yes" : "no");
    if (!f.crl_distribution_points.empty()) line(out, "CRL DP", join(f.crl_distribution_points));
    line(out, "key", describe_facts(f.key));
    line(out, "signature",
         f.signature_algorithm +
             (f.signature_valid ? (*f.signature_valid ? " (valid)" : " (INVALID)") : ""));
    line(out, "SPKI sha256", f.spki_sha256);
  }
}

void print_verify(std::ostream& out, const VerifyReport& report, bool colour) {
  for (std::size_t i = 0; i < report.servers.size(); ++i) {
    const ServerReport& s = report.servers[i];
    if (i > 0) out << "\n";
    out << s.server << (s.certificate.empty() ? "" : " (" + s.certificate + ")")
        << (s.shared ? " shared by " + join(s.members) : "") << "  "
        << (s.cert.empty() ? "(no certificate)" : s.cert.string())
        << (s.template_name.empty() ? "" : "  template " + s.template_name) << "\n";
    Table table({"CHECK", "STATUS", "DETAIL"}, colour);
    for (const CheckResult& c : s.checks) {
      Table::Colour paint = c.status == CheckStatus::kPass   ? Table::Colour::kGreen
                            : c.status == CheckStatus::kWarn ? Table::Colour::kYellow
                                                             : Table::Colour::kRed;
      table.add_row({c.id, check_status_name(c.status), c.message}, {Table::Colour::kNone, paint});
    }
    table.print(out);
  }
  for (const UnmatchedCertificate& u : report.unmatched) {
    out << "\n" << u.cert.string() << " (" << u.subject << "): " << u.message << "\n";
  }
  for (const UnmatchedCertificate& u : report.superseded) {
    out << "\n" << u.cert.string() << " (" << u.subject << "): " << u.message << "\n";
  }
  int warnings = report.count(CheckStatus::kWarn);
  out << "\n"
      << report.count(CheckStatus::kPass) << " passed, " << warnings
      << (warnings == 1 ? " warning, " : " warnings, ") << report.count(CheckStatus::kFail)
      << " failed"
      << (report.unmatched.empty()
              ? ""
              : ", " + std::to_string(report.unmatched.size()) + " unmatched certificate(s)")
      << "\n";
}

void print_dns_check(std::ostream& out, const std::vector<RecordCheck>& checks, bool colour) {
  Table table({"RECORD", "TYPE", "STATUS", "DETAIL"}, colour);
  int present = 0;
  for (const RecordCheck& c : checks) {
    bool ok = c.status == RecordStatus::kPresent;
    present += ok ? 1 : 0;
    table.add_row({c.expected.name, c.expected.type, record_status_name(c.status), c.message},
                  {Table::Colour::kNone, Table::Colour::kNone,
                   ok ? Table::Colour::kGreen : Table::Colour::kRed});
  }
  table.print(out);
  out << "\n" << present << " of " << checks.size() << " records present and equal\n";
}

std::string describe_condition(const Condition& c) {
  std::string out;
  if (!c.when.empty()) out += " (when " + join(c.when, " and ") + ")";
  if (!c.unless.empty()) out += " (unless " + join(c.unless, " or ") + ")";
  return out;
}

void print_profiles(std::ostream& out, const std::vector<Profile>& profiles) {
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    const Profile& p = profiles[i];
    if (i > 0) out << "\n";
    out << p.name << "  " << p.description << "\n";
    line(out, "file", p.file.string());
    line(out, "CN", p.cn_pattern);
    if (!p.products.empty()) line(out, "products", join(p.products));
    std::vector<std::string> patterns;
    for (const NameRule& n : p.san_rules) {
      patterns.push_back(n.pattern + describe_condition(n.condition));
    }
    line(out, "SANs",
         (patterns.empty() ? "none" : "(the CN), " + join(patterns)) +
             (p.allow_wildcards ? "; wildcards allowed" : "; no wildcards"));
    line(out, "EKU", join(p.eku_request) + " (required: " + join(p.eku_require) + ")");
    line(out, "key usage", join(p.key_usage));
    line(out, "keys",
         describe_allowed_keys(p) + "; default " + describe_key(p.default_key) +
             (p.exportable ? "; exportable" : "") + (p.shared ? "; shared by the pool" : ""));
    if (!p.template_name.empty()) line(out, "template", p.template_name);
    std::vector<std::string> records;
    for (const DnsRecordRule& r : p.dns_records) {
      records.push_back(r.type + " " + r.name + describe_condition(r.condition));
    }
    if (!records.empty()) line(out, "DNS", join(records));
  }
}

void print_file_warnings(std::ostream& err, const std::vector<FileWarning>& warnings) {
  for (const FileWarning& w : warnings) print_warning(err, w.message);
}

}  // namespace poolcert::cli
