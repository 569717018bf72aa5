// The one place that knows JSON: every --json document of the program is built here with
// nlohmann::json (never by hand).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "poolcert/csr/csr_batch.hpp"
#include "poolcert/dns/dns_check.hpp"
#include "poolcert/dns/dns_records.hpp"
#include "poolcert/probe/tls_probe.hpp"
#include "poolcert/verify/verify.hpp"
#include "poolcert/x509/inspect.hpp"

namespace poolcert::cli {

// InspectedFile is one FILE of `poolcert inspect`: its objects, or the error that stopped it.
struct InspectedFile {
  std::filesystem::path file;
  std::string encoding;
  std::string error;
  std::vector<X509Facts> objects;
};

// print_json writes `doc` on `out`, indented by 2, and a newline: every --json document of
// poolcert goes out this way. Bytes that are not UTF-8 (a file name in another encoding) come
// out as U+FFFD instead of failing the report.
void print_json(std::ostream& out, const nlohmann::json& doc);

nlohmann::json plan_json(const std::vector<PoolSpec>& specs, const std::vector<ServerJob>& jobs,
                         const std::vector<std::string>& warnings);
nlohmann::json csr_json(const std::vector<ServerJob>& jobs,
                        const std::vector<ServerResult>& results,
                        const std::vector<FileWarning>& warnings);
nlohmann::json profiles_json(const std::vector<Profile>& profiles);
nlohmann::json inf_json(const std::vector<ServerJob>& jobs,
                        const std::vector<std::filesystem::path>& infs);
nlohmann::json inspect_json(const std::vector<InspectedFile>& files);
// verify_json and probe_json consume the report: its strings are moved into the document.
nlohmann::json verify_json(VerifyReport&& report, const CertificateInputs& inputs);
nlohmann::json pfx_json(const std::filesystem::path& pfx, const std::string& server,
                        const std::string& friendly_name, std::size_t chain_length,
                        const std::string& encryption, bool forced,
                        const std::vector<FileWarning>& warnings);
nlohmann::json dns_json(const std::vector<DnsRecord>& records,
                        const std::vector<std::string>& warnings);
nlohmann::json dns_check_json(const std::vector<RecordCheck>& checks,
                              const std::vector<std::string>& warnings);
nlohmann::json probe_json(const std::string& target, const std::string& sni,
                          const ProbeResult& result, std::size_t chain_length,
                          VerifyReport&& report);

}  // namespace poolcert::cli

// The lab CA's results (poolcert ca init / ca sign), declared apart: see poolcert/lab_ca.hpp.
namespace poolcert {
struct LabCaInit;
struct IssuedCertificate;
}  // namespace poolcert

namespace poolcert::cli {

// ca_json: {"dir","config","certificates":[{"role","certificate","key","subject","serial",
// "not_after"}],"crl_distribution_point","authority_info_access"} for `ca init`.
nlohmann::json ca_json(const LabCaInit& init);
// ca_json: {"issued":[{"csr","certificate","chain","subject","sans","serial","not_after"}]} for
// `ca sign`.
nlohmann::json ca_json(const std::vector<IssuedCertificate>& issued);

}  // namespace poolcert::cli
