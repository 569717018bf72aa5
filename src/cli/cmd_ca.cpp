// poolcert ca init DIR / poolcert ca sign --ca DIR CSR...: a lab CA for pools without AD CS.
#include <iostream>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "poolcert/ca/lab_ca.hpp"
#include "poolcert/x509/inspect.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct CaInitCliOptions {
  std::string dir;
  LabCaSettings settings;
  bool json = false;
};

struct CaSignCliOptions {
  std::string ca_dir;
  std::vector<std::string> csrs;
  int days = 365;
  std::string out_dir;
  std::string spec;
  bool json = false;
};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string not_after(const X509Facts& f) {
  return f.not_after ? format_utc(*f.not_after) : "?";
}

void print_init(std::ostream& out, const LabCaInit& init) {
  out << "made a lab CA in " << init.dir.string() << " (settings " << init.config.string() << ")\n";
  Table table({"ROLE", "CERTIFICATE", "KEY (0600)", "SUBJECT", "NOT AFTER"}, false);
  for (const LabCaFile& f : init.files) {
    table.add_row({f.role, f.certificate.string(), f.key.string(), join_name(f.facts.subject),
                   not_after(f.facts)});
  }
  table.print(out);
  out << "leaves are issued by " << init.files.back().role << ".cer with "
      << (init.cdp_url.empty() ? "no CRL distribution point" : "CDP " + init.cdp_url) << " and "
      << (init.aia_url.empty() ? "no caIssuers URL" : "caIssuers " + init.aia_url) << "\n";
  if (init.cdp_url.empty()) {
    out << "note: without --cdp, verify fails cdp.present on every leaf (DOMAIN.md: server "
           "certificates must carry a CRL distribution point)\n";
  }
}

Outcome run_ca_init(const CaInitCliOptions& opt) {
  LabCaInit init = init_lab_ca(opt.dir, opt.settings);
  if (opt.json) {
    print_json(std::cout, ca_json(init));
  } else {
    print_init(std::cout, init);
  }
  return Outcome::kOk;
}

void print_issued(std::ostream& out, const LabCa& ca,
                  const std::vector<IssuedCertificate>& issued) {
  Table table({"CERTIFICATE", "CHAIN", "SUBJECT", "SANS", "NOT AFTER"}, false);
  for (const IssuedCertificate& i : issued) {
    table.add_row({i.certificate.string(), i.chain.string(), join_name(i.facts.subject),
                   joined(i.facts.dns_sans), not_after(i.facts)});
  }
  table.print(out);
  out << "issued " << issued.size() << " certificate(s) from "
      << subject_text(ca.chain.front().get()) << "\n";
}

Outcome run_ca_sign(const CaSignCliOptions& opt) {
  LabCa ca = load_lab_ca(opt.ca_dir);
  std::optional<PoolSpec> spec;
  if (!opt.spec.empty()) spec = load_specs({opt.spec}).front();
  SignOptions options;
  options.out_dir = opt.out_dir;
  options.days = opt.days;
  options.spec = spec ? &*spec : nullptr;
  std::vector<IssuedCertificate> issued =
      sign_requests(ca, {opt.csrs.begin(), opt.csrs.end()}, options);
  if (opt.json) {
    print_json(std::cout, ca_json(issued));
  } else {
    print_issued(std::cout, ca, issued);
  }
  return Outcome::kOk;
}

void setup_ca_init(CLI::App& ca, Runner& runner) {
  auto opt = std::make_shared<CaInitCliOptions>();
  CLI::App* cmd = ca.add_subcommand(
      "init", "Make a lab CA in DIR: a root, optionally an issuing intermediate (keys 0600)");
  cmd->add_option("DIR", opt->dir, "the CA's folder (made 0700); must not hold a CA")->required();
  cmd->add_flag("--intermediate", opt->settings.intermediate,
                "issue from an intermediate signed by the root, as most AD CS setups do");
  cmd->add_option("--cdp", opt->settings.cdp_url,
                  "CRL distribution point URL put in every leaf (http:// recommended)")
      ->type_name("URL");
  cmd->add_option("--aia", opt->settings.aia_url,
                  "URL of the issuing CA's certificate (caIssuers) put in every leaf")
      ->type_name("URL");
  cmd->add_option("--days", opt->settings.days, "validity of the CA certificates")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  cmd->add_option("--name", opt->settings.name,
                  "CA name: CNs '<name> Root CA' and '<name> Issuing CA'")
      ->capture_default_str()
      ->type_name("TEXT");
  cmd->add_flag("--json", opt->json, "machine-readable result on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_ca_init(*opt); }; });
}

void setup_ca_sign(CLI::App& ca, Runner& runner) {
  auto opt = std::make_shared<CaSignCliOptions>();
  CLI::App* cmd = ca.add_subcommand(
      "sign", "Issue a certificate for each CSR: <name>.cer (PEM) and <name>.p7b (with chain)");
  cmd->add_option("--ca", opt->ca_dir, "the CA's folder (from ca init)")
      ->required()
      ->type_name("DIR");
  cmd->add_option("CSR", opt->csrs, "certificate requests (PEM or DER)")->required();
  cmd->add_option("--days", opt->days, "validity of the certificates")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  cmd->add_option("-o,--output-dir", opt->out_dir, "where to write (default: each CSR's folder)")
      ->type_name("DIR");
  cmd->add_option("--spec", opt->spec,
                  "take EKU and key usage from this pool spec's profile (default: the CSR's)")
      ->type_name("SPEC");
  cmd->add_flag("--json", opt->json, "machine-readable result on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_ca_sign(*opt); }; });
}

}  // namespace

void setup_ca(CLI::App& app, Runner& runner) {
  CLI::App* ca = app.add_subcommand("ca", "A lab CA for pools without AD CS: make one, issue");
  ca->require_subcommand(1);
  setup_ca_init(*ca, runner);
  setup_ca_sign(*ca, runner);
}

}  // namespace poolcert::cli
