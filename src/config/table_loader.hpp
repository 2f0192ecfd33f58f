// Inside the config layer only: the loader's walk over an already parsed
// TOML tree, shared by the main file (loader.cpp) and the console's overlay
// (overlay.cpp) so both follow exactly the same rules and diagnostics.
#pragma once

#include <string>

#include "config/config.hpp"

namespace cppbx::config::detail {

// Reads `root` into `config`; problems name `source_name`. Relative paths
// of user backends are taken from `config_dir`. Tables of user backends and
// the locator are moved out of `root`.
void load_table(toml::table& root, const std::string& source_name, const std::string& config_dir,
                Config& config, Diagnostics& diagnostics);

// The absolute folder holding `path` (the working folder for "").
std::string folder_of(const std::string& path);

}  // namespace cppbx::config::detail
