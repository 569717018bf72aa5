// poolcert ca init / ca sign: a lab CA (filled in by the lab CA work).
#include "commands.hpp"

namespace poolcert::cli {

void setup_ca(CLI::App& app, Runner& runner) {
  (void)app;
  (void)runner;
}

}  // namespace poolcert::cli
