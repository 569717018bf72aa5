// poolcert probe HOST[:PORT] SPEC: the chain a live pool presents, through verify's checks.
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/probe/tls_probe.hpp"
#include "poolcert/verify/verify.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct ProbeCliOptions {
  std::string target;
  std::string spec;
  std::string server;
  std::string ca_bundle;
  std::string key_dir;
  std::string sni;
  double timeout = 10;
  int min_days = 30;
  bool json = false;
};

// Without --server, only servers the presented chain belongs to are reported.
void keep_probed_servers(VerifyReport& report) {
  auto probed = [](const ServerReport& s) { return !s.cert.empty(); };
  if (std::any_of(report.servers.begin(), report.servers.end(), probed)) {
    std::erase_if(report.servers, [&](const ServerReport& s) { return !probed(s); });
  }
}

Outcome run_probe(const ProbeCliOptions& opt) {
  PoolSpec spec = load_specs({opt.spec}).front();
  ProbeTarget target = parse_probe_target(opt.target);
  // SNI: as given, else the host when it is a name (an address is no SNI, RFC 6066 3).
  target.sni = !opt.sni.empty() ? opt.sni
               : check_dns_name(target.host).ok() &&
                       target.host.find_first_not_of("0123456789.") != std::string::npos
                   ? target.host
                   : "";
  target.timeout_s = opt.timeout;

  VerifyOptions options;
  options.key_dir = opt.key_dir.empty() ? spec.output_dir : std::filesystem::path(opt.key_dir);
  if (!opt.ca_bundle.empty()) options.ca_bundle = opt.ca_bundle;
  options.min_days = opt.min_days;
  options.at = std::time(nullptr);
  if (!opt.server.empty()) options.servers = normalise_server_names({opt.server});

  ProbeResult result = probe_tls(target);
  std::vector<InputCertificate> presented;
  std::string where = target.host + ":" + std::to_string(target.port);
  for (std::size_t i = 0; i < result.chain.size(); ++i) {
    presented.push_back({where + "#" + std::to_string(i), std::move(result.chain[i])});
  }
  VerifyReport report = verify(spec, presented, options);
  print_file_warnings(std::cerr, report.warnings);
  if (opt.server.empty()) keep_probed_servers(report);
  Outcome outcome = report.failed() ? Outcome::kFailed : Outcome::kOk;  // before report is moved
  if (opt.json) {
    print_json(std::cout,
               probe_json(where, target.sni, result, presented.size(), std::move(report)));
  } else {
    std::cout << where << ": " << result.protocol << ", " << result.cipher << ", "
              << presented.size() << " certificate(s) presented"
              << (target.sni.empty() ? "" : ", SNI " + target.sni) << "\n\n";
    print_verify(std::cout, report, use_colour());
  }
  return outcome;
}

}  // namespace

void setup_probe(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<ProbeCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "probe", "Handshake with a live pool and check the chain it presents against the spec");
  cmd->add_option("TARGET", opt->target, "HOST[:PORT] (default port 5061)")->required();
  cmd->add_option("SPEC", opt->spec, "pool spec (TOML)")->required();
  cmd->add_option("--server", opt->server, "the server expected to answer")->type_name("FQDN");
  cmd->add_option("--ca-bundle", opt->ca_bundle, "trust anchors (default: the system store)")
      ->type_name("FILE");
  cmd->add_option("--key-dir", opt->key_dir, "where the servers' keys/CSRs are");
  cmd->add_option("--sni", opt->sni, "server name to send (default: HOST when it is a name)");
  cmd->add_option("--timeout", opt->timeout, "seconds for connect and handshake (default 10)")
      ->check(CLI::Range(0.1, 300.0));
  cmd->add_option("--min-days", opt->min_days, "fail with fewer days of validity left")
      ->check(CLI::Range(0, 36500));
  cmd->add_flag("--json", opt->json, "machine-readable report on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_probe(*opt); }; });
}

}  // namespace poolcert::cli
