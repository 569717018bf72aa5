// Human output: aligned tables and labelled blocks, colour only on a terminal.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "poolcert/csr/csr_batch.hpp"
#include "render_json.hpp"

namespace poolcert::cli {

// Table prints rows under a header with columns padded to their widest cell. A cell may carry a
// colour that is used only when the table was made with colour on.
class Table {
 public:
  enum class Colour { kNone, kGreen, kYellow, kRed };
  Table(std::vector<std::string> header, bool colour);
  void add_row(std::vector<std::string> cells, std::vector<Colour> colours = {});
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<Colour>> colours_;
  bool colour_;
};

void print_plan(std::ostream& out, const std::vector<PoolSpec>& specs,
                const std::vector<ServerJob>& jobs);
void print_csr_results(std::ostream& out, const std::vector<ServerJob>& jobs,
                       const std::vector<ServerResult>& results, bool colour);
void print_inspect(std::ostream& out, const InspectedFile& file);
void print_verify(std::ostream& out, const VerifyReport& report, bool colour);
void print_profiles(std::ostream& out, const std::vector<Profile>& profiles);
void print_dns_check(std::ostream& out, const std::vector<RecordCheck>& checks, bool colour);
// print_file_warnings prints `poolcert: warning: <message>`, one line per warning (for stderr).
void print_file_warnings(std::ostream& err, const std::vector<FileWarning>& warnings);

}  // namespace poolcert::cli
