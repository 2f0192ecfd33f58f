// The console's settings file, loaded over the main configuration
// (config.hpp, "The console's settings file").
//
// Design decisions:
// - The overlay is read by the same Loader as the main file (table_loader.hpp)
//   into a scratch Config, and only the four keys present in the overlay are
//   copied over: the rules cannot drift from the main file's, and
//   diagnostics name the overlay file, line, column and key.
// - Anything else in the overlay is an error, not a warning: cppbx writes
//   that file itself, so a foreign key means someone edited it by hand and
//   probably expects it to work.
// - TOML has no null, so "no webhook" is written `locator_webhook = false`.
// - User backends of the overlay resolve relative paths from the main
//   file's folder, as the console's Test does, so a path means the same in
//   the Test, the Apply and after a restart.
// - Writing: a temporary file made by mkstemp (0600 from the start) in the
//   same folder, fsync, rename over the old file: a crash leaves the old or
//   the new file, never half of one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/table_loader.hpp"

namespace cppbx::config {
namespace {

namespace fs = std::filesystem;

const std::set<std::string_view> kOverlayKeys = {"realms", "user_backends", "locator", "locator_webhook"};

SourceLocation where_in(const std::string& file, const toml::source_region& region) {
  return {file, region.begin.line, region.begin.column};
}

// Checks that the overlay holds nothing but [proxy] and its four keys;
// returns the [proxy] table (null when absent or not a table).
toml::table* overlay_proxy_table(toml::table& root, const std::string& file, Diagnostics& diagnostics) {
  toml::table* proxy = nullptr;
  for (auto&& [name, node] : root) {
    if (name == "proxy" && node.is_table()) {
      proxy = node.as_table();
      continue;
    }
    diagnostics.error(where_in(file, name.source()), std::string(name.str()),
                      "not allowed in the console's settings file (only [proxy] realms, user_backends, "
                      "locator and locator_webhook)");
  }
  if (!proxy) return nullptr;
  for (auto&& [name, node] : *proxy) {
    if (kOverlayKeys.count(name.str())) continue;
    diagnostics.error(where_in(file, name.source()), "proxy." + std::string(name.str()),
                      "not allowed in the console's settings file (only realms, user_backends, locator and "
                      "locator_webhook)");
  }
  return proxy;
}

// `locator_webhook = false` means "no webhook"; it is taken out of the tree
// before the loader (which knows only the table form) sees it. Returns true
// when the overlay said so.
bool take_disabled_webhook(toml::table& proxy, const std::string& file, Diagnostics& diagnostics) {
  toml::node* node = proxy.get("locator_webhook");
  if (!node || node->is_table()) return false;
  if (auto flag = node->value<bool>(); flag && !*flag) {
    proxy.erase("locator_webhook");
    return true;
  }
  diagnostics.error(where_in(file, node->source()), "proxy.locator_webhook",
                    "expected a table, or false for no webhook");
  proxy.erase("locator_webhook");
  return false;
}

void copy_present_keys(const std::set<std::string>& present, bool webhook_disabled, Config& staged,
                       Config& config) {
  ProxyConfig& from = staged.proxy;
  ProxyConfig& to = config.proxy;
  if (present.count("realms")) to.realms = std::move(from.realms);
  if (present.count("user_backends")) {
    for (auto& backend : from.user_backends) backend.database_url = config.database_url;
    to.user_backends = std::move(from.user_backends);
  }
  if (present.count("locator")) to.locator = std::move(from.locator);
  if (present.count("locator_webhook")) to.locator_webhook = std::move(from.locator_webhook);
  if (webhook_disabled) to.locator_webhook.reset();
}

toml::table webhook_table(const LocatorWebhookConfig& webhook) {
  toml::array events;
  for (const auto& event : webhook.events) events.push_back(event);
  toml::table headers;
  for (const auto& [name, value] : webhook.headers) headers.insert_or_assign(name, value);
  return toml::table{{"url", webhook.url},
                     {"events", std::move(events)},
                     {"headers", std::move(headers)},
                     {"timeout_ms", static_cast<int64_t>(webhook.timeout_ms)},
                     {"max_attempts", static_cast<int64_t>(webhook.max_attempts)},
                     {"queue_size", static_cast<int64_t>(webhook.queue_size)}};
}

std::string errno_text(int number) { return std::strerror(number); }

// Writes `text` to a fresh 0600 file in `folder`; returns its path ("" on failure).
std::string write_temporary(const fs::path& folder, const std::string& text, std::string& error) {
  std::string pattern = (folder / ".proxy_settings.toml.XXXXXX").string();
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    error = fmt::format("cannot create a file in {}: {}", folder.string(), errno_text(errno));
    return {};
  }
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  bool ok = written == text.size() && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    error = fmt::format("cannot write {}: {}", pattern, errno_text(saved ? saved : EIO));
    ::unlink(pattern.c_str());
    return {};
  }
  return pattern;
}

}  // namespace

toml::table locator_as_table(const LocatorConfig& locator) {
  toml::table table = locator.table;
  table.insert_or_assign("type", locator.type);
  table.insert_or_assign("max_bindings_per_aor", static_cast<int64_t>(locator.max_bindings_per_aor));
  table.insert_or_assign("max_bindings_total", static_cast<int64_t>(locator.max_bindings_total));
  table.insert_or_assign("sweep_interval_seconds", static_cast<int64_t>(locator.sweep_interval_seconds));
  return table;
}

std::string generated_dir_path(const Config& config) {
  fs::path dir(config.proxy.generated_dir.empty() ? std::string(".") : config.proxy.generated_dir);
  if (dir.is_relative()) dir = fs::path(detail::folder_of(config.source_file)) / dir;
  return dir.lexically_normal().string();
}

std::string overlay_path(const Config& config) {
  return (fs::path(generated_dir_path(config)) / std::string(kOverlayFileName)).string();
}

void apply_overlay_text(Config& config, std::string_view toml_text, const std::string& source_name,
                        Diagnostics& diagnostics) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    diagnostics.error(where_in(source_name, e.source()), "", std::string(e.description()));
    return;
  }
  toml::table* proxy = overlay_proxy_table(root, source_name, diagnostics);
  if (!proxy) return;
  std::set<std::string> present;
  for (auto&& [name, node] : *proxy) {
    if (kOverlayKeys.count(name.str())) present.insert(std::string(name.str()));
  }
  bool webhook_disabled = take_disabled_webhook(*proxy, source_name, diagnostics);
  for (auto it = proxy->begin(); it != proxy->end();) {
    it = kOverlayKeys.count(it->first.str()) ? std::next(it) : proxy->erase(it);  // reported above
  }
  for (auto it = root.begin(); it != root.end();) it = it->first == "proxy" ? std::next(it) : root.erase(it);
  Config staged;
  detail::load_table(root, source_name, detail::folder_of(config.source_file), staged, diagnostics);
  copy_present_keys(present, webhook_disabled, staged, config);
}

bool apply_overlay_file(Config& config, Diagnostics& diagnostics) {
  const std::string path = overlay_path(config);
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics.error({path, 0, 0}, "", "cannot open the console's settings file for reading");
    return true;
  }
  std::stringstream content;
  content << in.rdbuf();
  apply_overlay_text(config, content.str(), path, diagnostics);
  return true;
}

Config load_file_with_overlay(const std::string& path, Diagnostics& diagnostics) {
  Config config = load_file(path, diagnostics);
  if (!diagnostics.has_errors()) apply_overlay_file(config, diagnostics);
  return config;
}

std::string overlay_text(const ProxyConfig& proxy) {
  toml::array realms;
  for (const auto& realm : proxy.realms) realms.push_back(realm);
  toml::array backends;
  for (const auto& backend : proxy.user_backends) {
    toml::table entry = backend.table;
    entry.insert_or_assign("type", backend.type);
    backends.push_back(std::move(entry));
  }
  toml::table settings{{"realms", std::move(realms)},
                       {"user_backends", std::move(backends)},
                       {"locator", locator_as_table(proxy.locator)}};
  if (proxy.locator_webhook) settings.insert("locator_webhook", webhook_table(*proxy.locator_webhook));
  else settings.insert("locator_webhook", false);
  toml::table root{{"proxy", std::move(settings)}};
  std::ostringstream out;
  out << "# Written by cppbx (console: Settings > Proxy Settings, Apply). Loaded over the main\n"
      << "# configuration file; the keys here replace the main file's. Edit in the console.\n\n"
      << root << "\n";
  return out.str();
}

bool write_overlay_file(const Config& config, std::string& error) {
  const fs::path target(overlay_path(config));
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    error = fmt::format("cannot create {}: {}", target.parent_path().string(), ec.message());
    return false;
  }
  std::string temporary = write_temporary(target.parent_path(), overlay_text(config.proxy), error);
  if (temporary.empty()) return false;
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    error = fmt::format("cannot replace {}: {}", target.string(), errno_text(errno));
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace cppbx::config
