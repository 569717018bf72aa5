// poolcert pfx SPEC --server FQDN --cert FILE: the server's key, leaf and chain as a PKCS#12 for
// Windows, only after verify passes.
#include <openssl/crypto.h>

#include <iostream>
#include <memory>

#include "commands.hpp"
#include "poolcert/csr/csr_batch.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/verify/verify.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/key.hpp"
#include "poolcert/x509/pkcs12.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct PfxCliOptions {
  std::string spec;
  std::string server;
  std::string certificate;
  std::string cert;
  std::string chain;
  std::string key_dir;
  std::string ca_bundle;
  std::string output;
  PassphraseSource passphrase;
  bool legacy = false;
  bool force = false;
  bool follow_key_symlinks = false;
  bool json = false;
};

// The certificate of the spec the PFX is for: --certificate, or the only one.
const CertificateSpec& choose_certificate(const PoolSpec& spec, const std::string& name) {
  if (name.empty() && spec.certificates.size() == 1) return spec.certificates.front();
  std::string names;
  for (const CertificateSpec& c : spec.certificates) {
    if (c.name == name) return c;
    names += (names.empty() ? "" : ", ") + c.name;
  }
  throw UsageError(name.empty()
                       ? "the spec has several certificates: give --certificate (" + names + ")"
                       : "--certificate " + name + ": not in the spec (" + names + ")");
}

// The day a certificate was issued (its notBefore), YYYY-MM-DD in UTC.
std::string issue_date(X509* cert) {
  X509Facts facts = certificate_facts(cert);
  return facts.not_before ? format_utc(*facts.not_before).substr(0, 10) : "";
}

// Orders the chain from the leaf's issuer upward; certificates not on the path are left out.
std::vector<X509*> chain_for(X509* leaf, const std::vector<InputCertificate>& certs) {
  std::vector<X509*> chain;
  X509* cur = leaf;
  while (X509_check_issued(cur, cur) != X509_V_OK && chain.size() < certs.size()) {
    X509* next = nullptr;
    for (const InputCertificate& c : certs) {
      if (c.cert.get() != cur && c.cert.get() != leaf &&
          X509_check_issued(c.cert.get(), cur) == X509_V_OK) {
        next = c.cert.get();
        break;
      }
    }
    if (next == nullptr) break;
    chain.push_back(next);
    cur = next;
  }
  return chain;
}

Outcome run_pfx(const PfxCliOptions& opt) {
  PoolSpec spec = load_specs({opt.spec}).front();
  std::string server = normalise_server_names({opt.server}).front();
  const CertificateSpec& certificate = choose_certificate(spec, opt.certificate);
  std::filesystem::path key_dir =
      opt.key_dir.empty() ? spec.output_dir : std::filesystem::path(opt.key_dir);
  // A shared certificate's key is the pool's; each member still gets its own PFX file of it.
  const std::string& owner = key_owner(spec, server, certificate);
  std::filesystem::path out =
      opt.output.empty() ? key_dir / output_file_name(server, certificate.name, OutputFile::kPfx)
                         : std::filesystem::path(opt.output);
  std::error_code ec;
  std::filesystem::path folder = out.parent_path().empty() ? "." : out.parent_path();
  if (!std::filesystem::is_directory(folder, ec)) {
    throw UsageError(out.string() + ": the folder " + folder.string() +
                     " does not exist (poolcert makes no folder for a PFX)");
  }
  if (std::filesystem::exists(std::filesystem::symlink_status(out, ec))) {
    throw UsageError(out.string() +
                     ": already exists; poolcert never overwrites it (remove it "
                     "or give another -o)");
  }
  std::optional<std::string> passphrase = read_passphrase(opt.passphrase, "PFX passphrase: ", true);
  if (!passphrase)
    throw UsageError("give the PFX passphrase with --passphrase-file or --passphrase-env");

  std::vector<std::filesystem::path> files = {opt.cert};
  if (!opt.chain.empty()) files.emplace_back(opt.chain);
  CertificateInputs inputs = read_certificate_files(files);
  // The key is read through its folder, never through a symlink unless asked (csr's rule).
  const std::string key_name = output_file_name(owner, certificate.name, OutputFile::kKey);
  const std::filesystem::path key_path = key_dir / key_name;
  ossl::UniquePtr<EVP_PKEY> key;
  {
    InputFile key_file =
        read_file_at(Folder(key_dir), key_name,
                     opt.follow_key_symlinks ? Symlinks::kFollow : Symlinks::kRefuse, 1 << 20);
    try {
      key = parse_private_key(key_file.data, key_path, passphrase);
    } catch (...) {
      OPENSSL_cleanse(key_file.data.data(), key_file.data.size());
      throw;
    }
    OPENSSL_cleanse(key_file.data.data(), key_file.data.size());
  }
  const std::string key_spki = spki_sha256(key.get());
  VerifyOptions options;
  options.key_dir = key_dir;
  options.follow_key_symlinks = opt.follow_key_symlinks;
  if (!opt.ca_bundle.empty()) options.ca_bundle = opt.ca_bundle;
  options.at = std::time(nullptr);
  options.servers = {server};
  options.certificates = {certificate.name};
  // The key that goes into the PFX decides which certificate is the server's, whatever the key
  // folder's CSR says and even when the key is encrypted: verify then checks, and the PFX
  // carries, the best certificate for that key (a renewal beside an expired one: the renewal).
  std::vector<ExpectedCertificate> expected = expected_certificates(spec, options);
  for (ExpectedCertificate& e : expected) {
    if (e.plan.server_fqdn == owner && e.certificate->name == certificate.name) {
      e.spki = key_spki;
    }
  }
  VerifyReport report = verify(spec, expected, inputs.certs, options);
  print_file_warnings(std::cerr, report.warnings);  // the server key's mode; on stderr always

  // --server and --certificate leave one report: this certificate of this server.
  if (report.servers.size() != 1) throw UsageError("--server " + server + ": not in the spec");
  const ServerReport& checked = report.servers.front();
  X509* leaf = checked.input_index ? inputs.certs[*checked.input_index].cert.get() : nullptr;
  if (leaf == nullptr || spki_sha256(X509_get0_pubkey(leaf)) != key_spki) {
    print_error(std::cerr, "no certificate in " + opt.cert + " is for the key " +
                               key_path.string() + ": a PFX of them would be useless");
    return Outcome::kFailed;
  }
  if (report.failed() && !opt.force) {
    for (const CheckResult& c : checked.checks) {
      if (c.status == CheckStatus::kFail) print_error(std::cerr, c.id + ": " + c.message);
    }
    for (const UnmatchedCertificate& u : report.unmatched) {
      print_error(std::cerr, u.cert.string() + " (" + u.subject + "): " + u.message);
    }
    print_error(std::cerr, "not writing " + out.string() +
                               ": the input fails verify (--force writes it anyway)");
    return Outcome::kFailed;
  }
  Pkcs12Options p12;
  auto entry = std::find_if(spec.servers.begin(), spec.servers.end(),
                            [&](const ServerSpec& s) { return s.fqdn == server; });
  const ServerSpec* member = entry != spec.servers.end() ? &*entry : nullptr;
  if (member == nullptr && !certificate.profile.shared) {
    throw UsageError("--server " + server + ": not in the spec");
  }
  // The friendly name is unique in the computer store (S1): CN, certificate name, and the day the
  // certificate was issued (its notBefore), so that a renewal does not take the old one's name.
  spec.request_date = issue_date(leaf);
  p12.friendly_name =
      derive_plan(spec, certificate.profile.shared ? nullptr : member, certificate).friendly_name;
  p12.legacy = opt.legacy;
  std::vector<X509*> chain = chain_for(leaf, inputs.certs);
  std::string der = build_pkcs12(key.get(), leaf, chain, *passphrase, p12);
  OPENSSL_cleanse(passphrase->data(), passphrase->size());
  try {
    write_file_atomic(out, der, 0600, Existing::kKeep);
  } catch (const FileExistsError& e) {
    throw UsageError(std::string(e.what()) + "; poolcert never overwrites it");
  }
  const char* how = opt.legacy ? "3DES, SHA-1 MAC" : "AES-256-CBC, SHA-256 MAC";
  if (opt.json) {
    print_json(std::cout, pfx_json(out, server, p12.friendly_name, chain.size(), how,
                                   report.failed(), report.warnings));
  } else {
    std::cout << "wrote " << out.string() << ": key, certificate and " << chain.size()
              << " chain certificate(s), friendly name " << p12.friendly_name << " (" << how << ")"
              << (report.failed() ? ", despite failing checks (--force)" : "") << "\n";
  }
  return Outcome::kOk;
}

}  // namespace

void setup_pfx(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<PfxCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pfx", "Bundle a server's key, certificate and chain as a PKCS#12 (.pfx) after verify");
  cmd->add_option("SPEC", opt->spec, "pool spec (TOML)")->required();
  cmd->add_option("--server", opt->server, "the server whose certificate this is")
      ->required()
      ->type_name("FQDN");
  cmd->add_option("--certificate", opt->certificate,
                  "which of the spec's [[certificate]] entries (when it has several)")
      ->type_name("NAME");
  cmd->add_option("--cert", opt->cert, "the issued certificate (PEM, DER or PKCS#7)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--chain", opt->chain, "intermediates (PEM, DER or PKCS#7)")->type_name("FILE");
  cmd->add_option("--key-dir", opt->key_dir,
                  "where the key is (default: the spec's output folder)");
  cmd->add_option("--ca-bundle", opt->ca_bundle, "trust anchors for verify")->type_name("FILE");
  cmd->add_option("-o,--output", opt->output,
                  "the .pfx to write (default: <key-dir>/<server>.pfx)");
  add_passphrase_options(*cmd, opt->passphrase);
  cmd->add_flag("--legacy", opt->legacy, "3DES and a SHA-1 MAC, for older Windows Server imports");
  cmd->add_flag("--force", opt->force, "write the PFX even when verify finds failures");
  add_follow_key_symlinks_flag(*cmd, opt->follow_key_symlinks);
  cmd->add_flag("--json", opt->json, "machine-readable result on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_pfx(*opt); }; });
}

}  // namespace poolcert::cli
