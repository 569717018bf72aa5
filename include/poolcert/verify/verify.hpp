// Checking the certificates a CA returned against the spec, before they are installed. The
// outcome is data (a report of checks), not an exception: exceptions mean "could not run".
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "poolcert/model/derive.hpp"
#include "poolcert/model/spec.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/ossl.hpp"

namespace poolcert {

enum class CheckStatus { kPass, kWarn, kFail };

const char* check_status_name(CheckStatus status) noexcept;  // "pass", "warn", "fail"

// CheckResult is one check of one certificate: a stable id, its status, and what was expected
// and found, so a message can be acted on.
struct CheckResult {
  std::string id;
  CheckStatus status = CheckStatus::kPass;
  std::string message;
  std::string expected;
  std::string found;
};

// InputCertificate is one certificate read from the input, with the file it came from.
struct InputCertificate {
  std::filesystem::path file;
  ossl::UniquePtr<X509> cert;
};

// CertificateInputs are the certificates read for verify, with what could not be read and what
// was skipped.
struct CertificateInputs {
  std::vector<InputCertificate> certs;
  std::vector<std::pair<std::filesystem::path, std::string>> errors;  // file, message
  std::vector<std::filesystem::path> ignored;
};

// read_certificate_files reads every file named (PEM, DER, PKCS#7). A file that is not
// certificates throws BadFileError: a file named on the command line must be right.
CertificateInputs read_certificate_files(const std::vector<std::filesystem::path>& files);

// read_certificate_dir reads the files of `dir` that end in .cer .crt .pem .der .p7b .p7c, in
// name order; other files (the spec's own .key/.csr among them) are listed as ignored. A file
// that cannot be read is listed in `errors` and the others are still read. Throws IoError when
// the folder itself cannot be read.
CertificateInputs read_certificate_dir(const std::filesystem::path& dir);

// ServerReport is the checks of one certificate of one server (`cert` empty when none was found).
struct ServerReport {
  std::string server;  // the server, or the pool for a certificate its members share
  bool shared = false;
  std::vector<std::string> members;  // a shared certificate: the servers that share it
  std::filesystem::path cert;
  std::vector<CheckResult> checks;
  std::string certificate;  // the spec's certificate name, "" for a single-certificate spec
  std::string profile;
  std::string template_name;  // the AD CS template the certificate was issued from, if it says
  std::optional<std::size_t> input_index;  // the certificate checked: its index in verify's input
};

// UnmatchedCertificate is a leaf of the input that belongs to no server of the spec.
struct UnmatchedCertificate {
  std::filesystem::path cert;
  std::string subject;
  std::string message;
};

// VerifyReport is everything verify found. failed() is true when any check failed or a
// certificate matched no server. `superseded` lists further certificates for a server that has a
// better one in the input (a renewal with the same key): reported, not failed. `warnings` are
// the checked servers' keys in the key folder that group or others can read: not failures.
struct VerifyReport {
  std::vector<ServerReport> servers;
  std::vector<UnmatchedCertificate> unmatched;
  std::vector<UnmatchedCertificate> superseded;
  std::vector<FileWarning> warnings;
  int count(CheckStatus status) const;
  bool failed() const;
};

// VerifyOptions say against what and when to check.
struct VerifyOptions {
  std::filesystem::path key_dir;                   // where <fqdn>.key / <fqdn>.csr are
  std::optional<std::filesystem::path> ca_bundle;  // trust anchors; none: the system store
  int min_days = 30;                               // validity.remaining
  std::time_t at = 0;                              // the time to check at
  bool strict = false;                             // san.extra fails instead of warning
  std::vector<std::string> servers;                // only these (empty: every server of the spec)
  std::vector<std::string> certificates;           // only these certificate names (empty: all)
  unsigned jobs = 1;  // threads decoding and checking the certificates (parallel_for)
  bool follow_key_symlinks = false;  // read a key that is a symbolic link (refused otherwise)
};

// ExpectedCertificate is one certificate of one server as the spec derives it, with the
// fingerprint (SHA-256 of the SubjectPublicKeyInfo) of the server's key when the key folder has
// its CSR or an unencrypted key. It points into the PoolSpec it was made from.
struct ExpectedCertificate {
  const ServerSpec* server = nullptr;  // nullptr: a certificate the pool's members share
  const CertificateSpec* certificate = nullptr;
  CertificatePlan plan;
  std::optional<std::string> spki;
  // A shared certificate: keys of its own that a member has in the key folder
  // (<member>.<certificate>.key or .csr, made one per server before it was shared).
  struct MemberKey {
    std::string member;
    std::filesystem::path file;
    std::string spki;
  };
  std::vector<MemberKey> member_keys;
};

// expected_certificates is the spec's side of verify, which needs no certificate: every
// certificate of every server of `spec` (a shared one once, for the pool; not only those
// `options` asks for, so that another server's certificate is not reported as belonging to
// nobody), with its key read from options.key_dir. Throws UsageError when options.servers or
// options.certificates names one the spec does not have, BadFileError for a CSR in the key folder
// that holds no request.
std::vector<ExpectedCertificate> expected_certificates(const PoolSpec& spec,
                                                       const VerifyOptions& options);

// verify checks `input` (leaves and intermediates, any order) against `expected`, made by
// expected_certificates(spec, options) with the same options: pairs each leaf with its server by
// public key (then by the server's name in the SANs), then runs every check. Throws
// BadFileError when the CA bundle cannot be read as certificates.
VerifyReport verify(const PoolSpec& spec, const std::vector<ExpectedCertificate>& expected,
                    const std::vector<InputCertificate>& input, const VerifyOptions& options);

// verify with expected_certificates(spec, options) made first.
VerifyReport verify(const PoolSpec& spec, const std::vector<InputCertificate>& input,
                    const VerifyOptions& options);

// CertificateChecks are the inputs of the per-certificate checks (verify_checks.cpp).
struct CertificateChecks {
  const PoolSpec* spec = nullptr;
  const Profile* profile = nullptr;  // the certificate's role
  const CertificatePlan* plan = nullptr;
  X509* leaf = nullptr;
  const X509Facts* facts = nullptr;  // the leaf, decoded (certificate_facts)
  std::vector<X509*> supplied;       // every certificate of the input, the leaf among them
  X509_STORE* trust = nullptr;
  std::optional<std::string> server_spki;  // the server's key fingerprint, when known
  const VerifyOptions* options = nullptr;
};

// run_checks runs every check on one paired certificate, in a fixed order.
std::vector<CheckResult> run_checks(const CertificateChecks& in);

// load_trust_store makes a store of the CA bundle's certificates, or of the system's default
// paths. Throws BadFileError / IoError for a bundle that is not certificates.
ossl::UniquePtr<X509_STORE> load_trust_store(const std::optional<std::filesystem::path>& bundle);

// parse_time reads "2026-11-25T10:00:00Z", "2026-11-25" or "@1764065700". Throws UsageError.
std::time_t parse_time(const std::string& text);

}  // namespace poolcert
