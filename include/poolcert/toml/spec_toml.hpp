// Loading pool specs and profiles from TOML. The only file of the project that knows TOML.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "poolcert/model/spec.hpp"

namespace poolcert {

// ProfileSearch says where a profile named in a spec (not a path) is looked for, in order:
// `dirs` (POOLCERT_PROFILE_PATH, then the folders poolcert was built or installed with), after
// the `profiles/` folder beside the spec itself.
struct ProfileSearch {
  std::vector<std::filesystem::path> dirs;
};

// default_profile_search gives POOLCERT_PROFILE_PATH's folders (colon-separated) followed by the
// folders compiled in (the source tree's templates/profiles and the installed share folder).
ProfileSearch default_profile_search();

// find_profiles lists every profile file in `search.dirs`, by name; where two folders hold the
// same name the first wins (as resolve_profile would pick it).
std::vector<std::filesystem::path> find_profiles(const ProfileSearch& search);

// load_profile reads and validates one profile file. Throws SpecError (file:line:col, field) for
// any mistake, IoError when the file cannot be read.
Profile load_profile(const std::filesystem::path& file);

// resolve_profile finds the file of `ref` as written in `spec_file`: a path (it contains '/' or
// ends in .toml) is taken relative to the spec's folder; a name is looked up in the spec's
// `profiles/` folder, then in `search.dirs`. Returns an empty path when nothing is found.
std::filesystem::path resolve_profile(const std::string& ref,
                                      const std::filesystem::path& spec_file,
                                      const ProfileSearch& search);

// known_products is the product table built into poolcert (templates/products.toml), in file
// order. Throws SpecError should the built-in table be invalid (a build defect, which a unit test
// catches).
const std::vector<Product>& known_products();

// find_product is the product named `name`, nullptr when there is none.
const Product* find_product(const std::string& name);

// product_names lists the known products: "ocs2007, ocs2007r2, ...".
std::string product_names();

// load_products reads a product table from `text`, errors naming `name` as the file. Throws
// SpecError.
std::vector<Product> load_products(const std::string& text, const std::filesystem::path& name);

// load_spec reads, validates and completes one spec: names checked and lower-cased, its profile
// loaded, keys checked against the profile, every server's certificate derivable. Throws
// SpecError naming file, line:column and field; IoError when the spec cannot be read.
PoolSpec load_spec(const std::filesystem::path& file, const ProfileSearch& search);

}  // namespace poolcert
