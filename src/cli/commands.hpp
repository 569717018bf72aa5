// The subcommands of the poolcert program: each file cmd_<verb>.cpp owns its options struct,
// its setup (CLI11) and its run function.
#pragma once

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace poolcert::cli {

void setup_plan(CLI::App& app, Runner& runner);
void setup_csr(CLI::App& app, Runner& runner);
void setup_inspect(CLI::App& app, Runner& runner);
void setup_verify(CLI::App& app, Runner& runner);
void setup_pfx(CLI::App& app, Runner& runner);
void setup_dns(CLI::App& app, Runner& runner);
void setup_probe(CLI::App& app, Runner& runner);
void setup_ca(CLI::App& app, Runner& runner);
void setup_profiles(CLI::App& app, Runner& runner);

}  // namespace poolcert::cli
