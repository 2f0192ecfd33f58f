// See extension_cli.hpp. Each action is a short function over an
// ExtensionStore; StoreStatus kinds map one to one onto exit codes, so
// scripts can tell "already exists" from "database down". Logging goes to
// stderr at warn, so migrations applied on first use do not mix with the
// command's own output on stdout.
#include "app/extension_cli.hpp"

#include <iostream>

#include <fmt/format.h>

#include "common/logging.hpp"
#include "common/random.hpp"
#include "config/config.hpp"
#include "storage/extension_store.hpp"

namespace cppbx::app {
namespace {

constexpr size_t kGeneratedPasswordLength = 16;

int exit_code_for(const storage::StoreStatus& status) {
  switch (status.kind) {
    case storage::StoreStatus::Kind::Ok: return kExtensionOk;
    case storage::StoreStatus::Kind::Invalid: return kExtensionInvalid;
    case storage::StoreStatus::Kind::NotFound: return kExtensionNotFound;
    case storage::StoreStatus::Kind::Duplicate: return kExtensionExists;
    case storage::StoreStatus::Kind::DatabaseError: return kExtensionDatabaseError;
  }
  return kExtensionDatabaseError;
}

int report(const storage::StoreStatus& status, std::ostream& err) {
  err << "cppbx extension: " << status.message << '\n';
  return exit_code_for(status);
}

// Where the extension backend of this configuration reads: its own
// database_url when set, else the top-level one.
std::string database_url_of(const config::Config& config) {
  for (const auto& backend : config.proxy.user_backends) {
    if (backend.type != "extension") continue;
    if (auto own = backend.table["database_url"].value<std::string>(); own && !own->empty()) return *own;
    break;
  }
  return config.database_url;
}

std::optional<std::string> load_database_url(const std::string& config_path, std::ostream& err) {
  if (config_path.empty()) {
    std::string unused_user, unused_password;
    return config::embedded_default(unused_user, unused_password).database_url;
  }
  config::Diagnostics diagnostics;
  // With the console's settings file: an extension backend may be set there.
  config::Config config = config::load_file_with_overlay(config_path, diagnostics);
  if (diagnostics.has_errors()) {
    for (const auto& diagnostic : diagnostics.all()) err << diagnostic.to_string() << '\n';
    err << "cppbx extension: the configuration has errors\n";
    return std::nullopt;
  }
  return database_url_of(config);
}

std::string status_text(const storage::Extension& extension) {
  return extension.login_disabled ? "disabled" : "enabled";
}

int list(storage::ExtensionStore& store, std::ostream& out, std::ostream& err) {
  std::vector<storage::Extension> extensions;
  if (auto status = store.list(extensions); !status.ok()) return report(status, err);
  if (extensions.empty()) {
    out << "no extensions\n";
    return kExtensionOk;
  }
  out << fmt::format("{:<16} {:<9} {:<24} {:<28} {}\n", "EXTENSION", "STATUS", "DISPLAY NAME",
                     "EMAIL", "CREATED");
  for (const auto& extension : extensions) {
    out << fmt::format("{:<16} {:<9} {:<24} {:<28} {}\n", extension.extension,
                       status_text(extension), extension.display_name, extension.email,
                       extension.created_at);
  }
  return kExtensionOk;
}

}  // namespace

void ExtensionCli::attach(CLI::App& cli) {
  command_ = cli.add_subcommand("extension", "Manage the PBX's own extensions (users)");
  command_->require_subcommand(1);
  command_->fallthrough();  // --conf may come after the action

  auto action = [this](const std::string& name, const std::string& help) {
    CLI::App* sub = command_->add_subcommand(name, help);
    sub->fallthrough();
    sub->callback([this, name] { action_ = name; });
    return sub;
  };
  auto needs_extension = [this](CLI::App* sub) {
    sub->add_option("extension", extension_, "The extension (letters, digits, '.', '_', '-')")->required();
  };
  auto password_options = [this](CLI::App* sub) {
    auto* given = sub->add_option("--password", password_,
                                  "The SIP password (default: generated and printed once)");
    sub->add_flag("--password-stdin", password_stdin_, "Read the SIP password from the first line of stdin")
        ->excludes(given);
  };

  CLI::App* add = action("add", "Add an extension");
  needs_extension(add);
  password_options(add);
  add->add_option("--display-name", display_name_, "Caller ID name");
  add->add_option("--email", email_, "E-mail address");

  action("list", "List the extensions (passwords are never shown)");
  needs_extension(action("remove", "Remove an extension"));
  CLI::App* passwd = action("passwd", "Set a new SIP password");
  needs_extension(passwd);
  password_options(passwd);
  needs_extension(action("enable", "Allow the extension to register again"));
  needs_extension(action("disable", "Refuse the extension's registrations (403)"));
}

bool ExtensionCli::selected() const { return command_ != nullptr && command_->parsed(); }

int ExtensionCli::run(const std::string& config_path, std::istream& in, std::ostream& out,
                      std::ostream& err) {
  log::init("warn", "");
  auto url = load_database_url(config_path, err);
  if (!url) return kExtensionDatabaseError;
  std::string error;
  auto database = storage::Database::open(*url, error);
  if (!database) {
    err << "cppbx extension: " << error << '\n';
    return kExtensionDatabaseError;
  }
  storage::ExtensionStore store(*database);
  if (action_ == "list") return list(store, out, err);
  if (action_ == "add" || action_ == "passwd") return set_credentials(store, in, out, err);

  storage::StoreStatus status = action_ == "remove" ? store.remove(extension_)
                                                    : store.set_enabled(extension_, action_ == "enable");
  if (!status.ok()) return report(status, err);
  out << "extension " << extension_ << ' '
      << (action_ == "remove" ? "removed" : action_ == "enable" ? "enabled" : "disabled") << '\n';
  return kExtensionOk;
}

int ExtensionCli::set_credentials(storage::ExtensionStore& store, std::istream& in, std::ostream& out,
                                  std::ostream& err) {
  std::string password;
  bool generated = false;
  if (password_) {
    password = *password_;
  } else if (password_stdin_) {
    std::getline(in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
  } else {
    password = random::alphanumeric(kGeneratedPasswordLength);
    generated = true;
  }

  storage::StoreStatus status;
  if (action_ == "add") {
    storage::Extension extension;
    extension.extension = extension_;
    extension.sip_password = password;
    extension.display_name = display_name_.value_or("");
    extension.email = email_.value_or("");
    status = store.add(extension);
  } else {
    status = store.set_password(extension_, password);
  }
  if (!status.ok()) return report(status, err);
  out << "extension " << extension_ << (action_ == "add" ? " added" : ": password changed");
  // The only place a password is ever printed: one the user has not seen yet.
  if (generated) out << "; generated SIP password (shown once): " << password;
  out << '\n';
  return kExtensionOk;
}

}  // namespace cppbx::app
