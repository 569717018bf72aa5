// poolcert plan SPEC... [--json]: what csr would do, per server. Writes nothing.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "poolcert/csr/csr_batch.hpp"
#include "poolcert/dns/dns_records.hpp"
#include "poolcert/model/derive.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct PlanCliOptions {
  std::vector<std::string> specs;
  std::string output_dir;
  std::vector<std::string> servers;
  bool rekey = false;
  bool json = false;
};

Outcome run_plan(const PlanCliOptions& opt) {
  std::vector<PoolSpec> specs = load_specs(opt.specs);
  PlanOptions plan_options;
  if (!opt.output_dir.empty()) plan_options.output_dir = opt.output_dir;
  plan_options.servers = normalise_server_names(opt.servers);
  plan_options.rekey = opt.rekey;
  std::vector<ServerJob> jobs = plan_jobs(specs, plan_options);
  // DOMAIN.md: the DNS and the certificates must agree; say so before anything is requested.
  std::vector<std::string> warnings;
  for (const PoolSpec& spec : specs) {
    std::vector<std::string> found = unused_field_warnings(spec);
    for (std::string& w : dns_coherence_warnings(spec, derive_dns_records(spec))) {
      found.push_back(std::move(w));
    }
    for (std::string& w : found) {
      warnings.push_back(specs.size() > 1 ? spec.file.string() + ": " + w : std::move(w));
    }
  }
  if (opt.json) {
    print_json(std::cout, plan_json(specs, jobs, warnings));
  } else {
    for (const std::string& w : warnings) print_warning(std::cerr, w);
    print_plan(std::cout, specs, jobs);
  }
  return Outcome::kOk;
}

}  // namespace

void setup_plan(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<PlanCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "Show each server's subject, SANs, key and output files; writes nothing");
  cmd->add_option("SPEC", opt->specs, "pool spec (TOML)")->required();
  cmd->add_option("-o,--output-dir", opt->output_dir, "output folder (replaces the spec's)");
  cmd->add_option("--server", opt->servers, "only this server (repeatable)")->type_name("FQDN");
  cmd->add_flag("--rekey", opt->rekey, "plan as csr --rekey would run");
  cmd->add_flag("--json", opt->json, "machine-readable output on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_plan(*opt); }; });
}

}  // namespace poolcert::cli
