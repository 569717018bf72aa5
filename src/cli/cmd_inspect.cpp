// poolcert inspect FILE...: decode certificates and requests, PEM or DER or PKCS#7.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/x509_load.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct InspectCliOptions {
  std::vector<std::string> files;
  bool json = false;
};

InspectedFile inspect_one(const std::string& path) {
  InspectedFile out;
  out.file = path;
  try {
    X509Objects objects = load_x509_objects(path);
    out.encoding = objects.encoding;
    for (const auto& cert : objects.certificates)
      out.objects.push_back(certificate_facts(cert.get()));
    for (const auto& req : objects.requests) out.objects.push_back(request_facts(req.get()));
  } catch (const Error& e) {
    out.error = e.what();
  }
  return out;
}

Outcome run_inspect(const InspectCliOptions& opt) {
  std::vector<InspectedFile> files;
  for (const std::string& path : opt.files) files.push_back(inspect_one(path));
  bool bad = false;
  for (const InspectedFile& f : files) {
    if (f.error.empty()) continue;
    print_error(std::cerr, f.error);
    bad = true;
  }
  if (opt.json) {
    print_json(std::cout, inspect_json(files));
  } else {
    bool first = true;
    for (const InspectedFile& f : files) {
      if (!f.error.empty()) continue;
      if (!first) std::cout << "\n";
      print_inspect(std::cout, f);
      first = false;
    }
  }
  // Unreadable input is bad input: exit 2, after showing what could be read.
  if (bad) throw UsageError("some files could not be read");
  return Outcome::kOk;
}

}  // namespace

void setup_inspect(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<InspectCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Decode a CSR or certificate (PEM, DER or PKCS#7): names, EKU, key, validity");
  cmd->add_option("FILE", opt->files, "certificate or request file")->required();
  cmd->add_flag("--json", opt->json, "machine-readable output on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_inspect(*opt); }; });
}

}  // namespace poolcert::cli
