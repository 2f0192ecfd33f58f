// The command line: --conf, --check-config, --version, --help, and the
// `extension` subcommand (app/extension_cli.hpp).
#pragma once

namespace cppbx::app {

// Returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace cppbx::app
