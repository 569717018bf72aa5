// poolcert dns SPEC: the records the pool needs, as zone text, PowerShell, dnscmd or JSON; with
// --check, the same records looked up on a live DNS server.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "poolcert/dns/dns_check.hpp"
#include "poolcert/dns/dns_records.hpp"
#include "poolcert/model/derive.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct DnsCliOptions {
  std::string spec;
  std::string format = "zone";
  std::string zone_dir;
  std::string view = "all";
  bool check = false;
  std::vector<std::string> resolvers;
  double timeout = 5;
  bool json = false;
};

void write_zone_files(const std::string& dir, const std::vector<DnsRecord>& records, bool quiet) {
  prepare_output_dir(dir);
  for (const auto& [zone, text] : zone_files(records)) {
    std::filesystem::path file = std::filesystem::path(dir) / zone_file_name(zone);
    write_file_atomic(file, text, 0644, Existing::kReplace);
    if (!quiet) std::cerr << "poolcert: wrote " << file.string() << "\n";
  }
}

Outcome run_check(const DnsCliOptions& opt, const DnsCheckOptions& options,
                  const std::vector<DnsRecord>& records, const std::vector<std::string>& warnings) {
  std::vector<RecordCheck> checks = check_dns_records(records, options);
  if (opt.json) {
    print_json(std::cout, dns_check_json(checks, warnings));
  } else {
    print_dns_check(std::cout, checks, use_colour());
  }
  bool all_present = std::all_of(checks.begin(), checks.end(), [](const RecordCheck& c) {
    return c.status == RecordStatus::kPresent;
  });
  return all_present ? Outcome::kOk : Outcome::kFailed;
}

Outcome run_dns(const DnsCliOptions& opt) {
  PoolSpec spec = load_specs({opt.spec}).front();
  // Usage first: a bad --resolver is the one line printed, before any warning about the spec.
  DnsCheckOptions check_options;
  for (const std::string& r : opt.resolvers) check_options.resolvers.push_back(parse_resolver(r));
  check_options.timeout_s = opt.timeout;
  std::vector<DnsRecord> records = derive_dns_records(spec);
  if (opt.view != "all") {  // one DNS server's records: internal or external (perimeter)
    std::erase_if(records, [&](const DnsRecord& r) { return r.view != opt.view; });
  }
  std::vector<std::string> warnings = unused_field_warnings(spec);
  for (std::string& w : dns_coherence_warnings(spec, records)) warnings.push_back(std::move(w));
  for (std::string& w : dns_placeholder_warnings(records)) warnings.push_back(std::move(w));
  bool json = opt.json || opt.format == "json";
  if (!json) {
    for (const std::string& w : warnings) print_warning(std::cerr, w);
  }
  if (opt.check) return run_check(opt, check_options, records, warnings);
  if (!opt.zone_dir.empty()) write_zone_files(opt.zone_dir, records, json);
  if (json) {
    print_json(std::cout, dns_json(records, warnings));
  } else if (opt.format == "zone") {
    std::cout << zone_text(records);
  } else if (opt.format == "powershell") {
    std::cout << powershell_text(records);
  } else {
    std::cout << dnscmd_text(records);
  }
  return Outcome::kOk;
}

}  // namespace

void setup_dns(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<DnsCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "dns", "The DNS records the pool needs; with --check, look them up on a live DNS server");
  cmd->add_option("SPEC", opt->spec, "pool spec (TOML)")->required();
  cmd->add_option("--format", opt->format, "zone (BIND/NSD), powershell, dnscmd or json")
      ->check(CLI::IsMember({"zone", "powershell", "dnscmd", "json"}));
  cmd->add_option("--zone-dir", opt->zone_dir,
                  "also write a complete zone file per zone (with SOA and NS) for a lab server")
      ->type_name("DIR");
  cmd->add_option("--view", opt->view,
                  "internal or external (perimeter) records only (default: all)")
      ->check(CLI::IsMember({"all", "internal", "external"}));
  cmd->add_flag("--check", opt->check, "look every record up and compare");
  cmd->add_option("--resolver", opt->resolvers, "DNS server to ask (default: the system's)")
      ->type_name("IP[:PORT]");
  cmd->add_option("--timeout", opt->timeout, "seconds for the whole check (default 5)")
      ->check(CLI::Range(0.1, 300.0));
  cmd->add_flag("--json", opt->json, "machine-readable output on stdout (= --format json)");
  cmd->callback([opt, &runner] { runner = [opt] { return run_dns(*opt); }; });
}

}  // namespace poolcert::cli
