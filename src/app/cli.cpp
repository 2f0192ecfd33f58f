// Command line handling. Configuration problems (the main file's and the
// console's settings file's) are printed all at once, each with file, line,
// column and key, before anything starts; --check-config stops there.
#include "app/cli.hpp"

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "app/extension_cli.hpp"
#include "app/locator_factory.hpp"
#include "app/module_factory.hpp"
#include "app/server.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "common/version.hpp"
#include "config/config.hpp"
#include "storage/admin_store.hpp"
#include "storage/database.hpp"

namespace cppbx::app {
namespace {

struct Options {
  std::string config_path;
  bool check_only = false;
  bool show_version = false;
  std::string super_username;  // --super-username: create or reset a console administrator
  std::string super_password;
};

// Validation that needs the other layers (user backend fields, ACL rules).
void validate_deeply(const config::Config& config, config::Diagnostics& diagnostics) {
  if (diagnostics.has_errors()) return;
  build_user_backends(config, diagnostics);
  build_acl_rules(config, diagnostics);
  // Locators check their keys when built and connect only in start().
  boost::asio::io_context unused;
  make_locator(config.proxy.locator, {unused, config.database_url, {}}, diagnostics);
}

// The main file (or the embedded default) and the console's settings file
// over it (<generated_dir>/proxy_settings.toml), whose problems refuse the
// start like the main file's.
config::Config load_configuration(const std::string& path, config::Diagnostics& diagnostics,
                                  std::string& first_user, std::string& first_password) {
  if (!path.empty()) return config::load_file_with_overlay(path, diagnostics);
  config::Config config = config::embedded_default(first_user, first_password);
  config::apply_overlay_file(config, diagnostics);
  return config;
}

void print_diagnostics(const config::Diagnostics& diagnostics) {
  for (const auto& diagnostic : diagnostics.all()) {
    std::cerr << diagnostic.to_string() << '\n';
  }
}

// The embedded default's generated password goes to the terminal, not through
// the logger, so it never lands in a log file.
void print_first_user(const std::string& user, const std::string& password,
                      const config::Config& config) {
  std::cerr << "cppbx: no --conf given, running on the embedded default configuration\n"
            << "cppbx: first user: username " << user << " password " << password
            << " (register to sip:" << user << "@<this host>:" << config.proxy.udp_port
            << ")\n";
}

// The embedded default is for someone trying cppbx out: with no console
// administrator in its database yet, it creates `admin` with a generated
// password, printed next to the first SIP user (to the terminal only). Once
// an administrator exists nothing is created or printed. Returns the
// password when one was created.
std::string ensure_first_admin(const config::Config& config) {
  std::string error;
  auto database = storage::Database::open(config.database_url, error);
  if (!database) return {};  // the server's own start reports the database
  storage::AdminStore admins(*database);
  if (admins.count() != 0) return {};
  std::string password = random::alphanumeric(20);
  bool created = false;
  if (!admins.set_password("admin", password, created).ok()) return {};
  return password;
}

void print_first_admin(const std::string& password, const config::Config& config) {
  std::cerr << "cppbx: console: http://<this host>:" << config.http_addr.substr(config.http_addr.rfind(':') + 1)
            << config.console.base_path << "/ administrator admin password " << password << '\n';
}

// `--super-username NAME --super-password PASS`: creates the console
// administrator or resets its password in the main database (as RustPBX
// does), then exits: 0 done, 1 configuration or database unusable, 2 bad
// name or password. The password is hashed (argon2id) and never printed.
int set_super_user(const Options& options) {
  if (options.super_password.empty()) {
    std::cerr << "cppbx: --super-username needs --super-password\n";
    return 2;
  }
  config::Diagnostics diagnostics;
  std::string unused_user, unused_password;
  config::Config config = options.config_path.empty() ? config::embedded_default(unused_user, unused_password)
                                                      : config::load_file(options.config_path, diagnostics);
  if (diagnostics.has_errors()) {
    print_diagnostics(diagnostics);
    return 1;
  }
  log::init("warn", "");  // migrations on first use stay off stdout
  std::string error;
  auto database = storage::Database::open(config.database_url, error);
  if (!database) {
    std::cerr << "cppbx: " << error << '\n';
    return 1;
  }
  storage::AdminStore admins(*database);
  bool created = false;
  auto status = admins.set_password(options.super_username, options.super_password, created);
  if (!status.ok()) {
    std::cerr << "cppbx: " << status.message << '\n';
    return status.kind == storage::StoreStatus::Kind::Invalid ? 2 : 1;
  }
  std::cout << "cppbx: administrator " << options.super_username << (created ? " created" : ": password reset")
            << '\n';
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  Options options;
  CLI::App cli{"cppbx: a SIP PBX"};
  cli.add_option("-c,--conf", options.config_path, "TOML configuration file (RustPBX keys)")
      ->check(CLI::ExistingFile);
  cli.add_flag("--check-config", options.check_only,
               "Load and validate the configuration, print every problem, and exit");
  cli.add_flag("-V,--version", options.show_version, "Print the version and exit");
  cli.add_option("--super-username", options.super_username,
                 "Create the console administrator NAME (or reset its password) and exit");
  cli.add_option("--super-password", options.super_password, "The administrator's password (with --super-username)");
  ExtensionCli extensions;
  extensions.attach(cli);
  CLI11_PARSE(cli, argc, argv);

  if (options.show_version) {
    std::cout << "cppbx " << kVersion << '\n';
    return 0;
  }
  if (extensions.selected()) return extensions.run(options.config_path, std::cin, std::cout, std::cerr);
  if (!options.super_username.empty()) return set_super_user(options);

  config::Diagnostics diagnostics;
  std::string first_user, first_password;
  config::Config config = load_configuration(options.config_path, diagnostics, first_user, first_password);
  validate_deeply(config, diagnostics);

  if (options.check_only) {
    print_diagnostics(diagnostics);
    if (diagnostics.has_errors()) return 1;
    std::cout << (options.config_path.empty() ? "embedded default" : options.config_path)
              << ": configuration OK\n";
    return 0;
  }
  if (diagnostics.has_errors()) {
    print_diagnostics(diagnostics);
    std::cerr << "cppbx: not started, the configuration has errors\n";
    return 1;
  }

  std::string log_error;
  if (!log::init(config.log_level, config.log_file, &log_error)) {
    std::cerr << "cppbx: " << log_error << '\n';
    return 1;
  }
  for (const auto& diagnostic : diagnostics.all()) spdlog::warn("{}", diagnostic.to_string());

  try {
    std::string first_admin_password = first_user.empty() ? std::string() : ensure_first_admin(config);
    Server server(config);
    server.start();
    if (!first_user.empty()) print_first_user(first_user, first_password, config);
    if (!first_admin_password.empty()) print_first_admin(first_admin_password, config);
    return server.run();
  } catch (const std::exception& error) {
    spdlog::error("cppbx: cannot start: {}", error.what());
    return 1;
  }
}

}  // namespace cppbx::app
