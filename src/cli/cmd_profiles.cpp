// poolcert profiles [FILE...]: the role rules poolcert knows, or those of the files given.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "poolcert/toml/spec_toml.hpp"
#include "render_json.hpp"
#include "render_text.hpp"

namespace poolcert::cli {
namespace {

struct ProfilesCliOptions {
  std::vector<std::string> files;
  bool json = false;
};

Outcome run_profiles(const ProfilesCliOptions& opt) {
  std::vector<std::filesystem::path> files(opt.files.begin(), opt.files.end());
  if (files.empty()) files = find_profiles(default_profile_search());
  std::vector<Profile> profiles;
  for (const auto& file : files) profiles.push_back(load_profile(file));
  if (opt.json) {
    print_json(std::cout, profiles_json(profiles));
  } else {
    print_profiles(std::cout, profiles);
  }
  return Outcome::kOk;
}

}  // namespace

void setup_profiles(CLI::App& app, Runner& runner) {
  auto opt = std::make_shared<ProfilesCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "profiles", "List the shipped profiles and their rules (or those of the files given)");
  cmd->add_option("FILE", opt->files, "a profile file of your own");
  cmd->add_flag("--json", opt->json, "machine-readable output on stdout");
  cmd->callback([opt, &runner] { runner = [opt] { return run_profiles(*opt); }; });
}

}  // namespace poolcert::cli
