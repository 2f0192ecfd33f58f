// `cppbx extension add|list|remove|passwd|enable|disable`: managing the
// PBX's own extensions from the command line, against the database the
// configuration names (the `database_url` of the first `extension` user
// backend when it has one, else the top-level `database_url`; without
// --conf the embedded default's cppbx.sqlite3 in the working folder).
//
// A password is printed only when cppbx generated it (add or passwd without
// --password / --password-stdin), once, on stdout. Changes made here reach a
// running server when its extension backend's cache entry expires (`ttl`):
// this is another process, so the in-process invalidation does not apply.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "storage/extension_store.hpp"

namespace cppbx::app {

// Exit codes of `cppbx extension ...`.
enum ExtensionExit : int {
  kExtensionOk = 0,
  kExtensionDatabaseError = 1,  // configuration or database unusable
  kExtensionInvalid = 2,        // a bad extension name or field
  kExtensionNotFound = 3,
  kExtensionExists = 4,
};

class ExtensionCli {
 public:
  // Adds the `extension` subcommand and its actions to `cli`.
  void attach(CLI::App& cli);
  // True when the command line chose `extension ...`.
  bool selected() const;
  // Runs the chosen action; `config_path` empty means the embedded default.
  int run(const std::string& config_path, std::istream& in, std::ostream& out, std::ostream& err);

 private:
  // add and passwd: the password given, read from stdin, or generated.
  int set_credentials(storage::ExtensionStore& store, std::istream& in, std::ostream& out,
                      std::ostream& err);

  CLI::App* command_ = nullptr;
  std::string action_;
  std::string extension_;
  std::optional<std::string> password_;
  bool password_stdin_ = false;
  std::optional<std::string> display_name_;
  std::optional<std::string> email_;
};

}  // namespace cppbx::app
