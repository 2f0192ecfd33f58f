// Walks the parsed TOML tree section by section. Each section has a table of
// handlers, one per implemented key; a key without a handler is either a
// RustPBX feature not built yet (one warning for the whole key, its sub-keys
// are not inspected) or unknown (one warning). Handlers validate and assign,
// and never stop at the first problem, so one run reports every error.
//
// User backend and locator tables are moved (not copied) out of the parsed
// tree: toml++ keeps source positions on move only, and the users layer needs
// them for its own diagnostics.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/database_url.hpp"
#include "common/logging.hpp"
#include "common/strings.hpp"
#include "config/config.hpp"
#include "config/table_loader.hpp"
#include "config/value_reader.hpp"

namespace cppbx::config {
namespace {

namespace fs = std::filesystem;
using Names = std::set<std::string_view>;

// Documented by RustPBX, not implemented by cppbx yet.
const Names kTopLevelNotYetSupported = {
    "http_gzip", "http_access_skip_paths",
    "media_cache_path", "rtp_start_port", "rtp_end_port", "ice_servers", "ami",
    "storage", "archive", "addons", "cluster", "recording", "callrecord"};
const Names kProxyNotYetSupported = {
    "addons",
    "media_proxy", "codecs", "routes", "routes_files", "trunks", "trunks_files", "acl_files",
    "queues", "http_router"};

// [console] keys of RustPBX that cppbx does not need or has not built:
// sessions are random ids held in memory (no signing secret), and
// administrators are created with --super-username only.
const Names kConsoleNotYetSupported = {"session_secret", "allow_registration"};

const Names kModules = {"acl", "auth", "registrar", "call"};
const Names kBackendTypes = {"memory", "database", "http", "plain", "extension"};
const Names kLocatorTypes = {"memory", "database", "http", "redis"};
const Names kWebhookEvents = {"registered", "unregistered", "offline"};

constexpr int64_t kOneYear = 365LL * 24 * 3600;
constexpr int64_t kOneDay = 24 * 3600;

std::string child_key(const std::string& parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  return parent + "." + std::string(name);
}

// "3.11", "2.10.1": parts of 1 to 9 digits separated by single dots.
bool is_dotted_version(std::string_view text) {
  size_t digits = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      if (++digits > 9) return false;
    } else if (c != '.' || digits == 0) {
      return false;
    } else {
      digits = 0;
    }
  }
  return digits > 0;
}

std::string indexed_key(const std::string& parent, size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

std::string lowercase(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool is_port_number(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
    return false;
  int value = std::stoi(std::string(text));
  return value >= 1 && value <= 65535;
}

// "host:port" or "[v6]:port", host non-empty.
bool is_host_port(const std::string& text) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    return close != std::string::npos && close > 1 && is_port_number(text.substr(close + 2));
  }
  auto colon = text.rfind(':');
  return colon != std::string::npos && colon > 0 && is_port_number(text.substr(colon + 1));
}

std::optional<std::string> canonical_digest_algorithm(std::string_view name) {
  std::string lower = lowercase(name);
  if (lower == "md5") return "MD5";
  if (lower == "sha-256") return "SHA-256";
  if (lower == "sha-512-256") return "SHA-512-256";
  return std::nullopt;
}

// toml++ tables are ordered by key name; diagnostics read better in the
// order of the file, so entries are visited by source position.
std::vector<std::pair<const toml::key*, toml::node*>> in_file_order(toml::table& table) {
  std::vector<std::pair<const toml::key*, toml::node*>> entries;
  for (auto&& [name, node] : table) entries.emplace_back(&name, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

std::string joined(const Names& names) { return fmt::format("{}", fmt::join(names, ", ")); }

class Loader {
 public:
  Loader(Diagnostics& diagnostics, std::string file, std::string config_dir)
      : diagnostics_(diagnostics),
        read_(diagnostics, std::move(file)),
        config_dir_(std::move(config_dir)) {}

  void load(toml::table& root, Config& config) {
    walk(root, "", top_level_handlers(config), kTopLevelNotYetSupported);
    // After the walk: database_url may appear anywhere before [proxy].
    for (auto& backend : config.proxy.user_backends) backend.database_url = config.database_url;
    check_registrar_limits(config.proxy);
    resolve_tls_files(config);
  }

 private:
  using Handler = std::function<void(toml::node&, const std::string& key)>;
  using Handlers = std::map<std::string_view, Handler>;

  void walk(toml::table& table, const std::string& path, const Handlers& handlers,
            const Names& not_yet_supported) {
    for (auto [name_ptr, node_ptr] : in_file_order(table)) {
      const toml::key& name = *name_ptr;
      toml::node& node = *node_ptr;
      std::string key = child_key(path, name.str());
      if (auto handler = handlers.find(name.str()); handler != handlers.end()) {
        positions_[key] = read_.where(node);
        handler->second(node, key);
      } else if (not_yet_supported.count(name.str())) {
        not_yet_supported_warning(read_.where(name.source()), key);
      } else {
        read_.warning(name, key, "unknown key; ignored");
      }
    }
  }

  void not_yet_supported_warning(const SourceLocation& where, const std::string& key,
                                 const std::string& detail = "ignored") {
    if (!reported_.insert(key).second) return;
    diagnostics().warning(where, key, "not yet supported; " + detail);
  }

  Diagnostics& diagnostics() { return diagnostics_; }

  Handlers top_level_handlers(Config& c) {
    return {
        {"http_addr", [&](toml::node& n, const std::string& k) { read_http_addr(n, k, c); }},
        {"https_addr", [&](toml::node& n, const std::string& k) { read_https_addr(n, k, c); }},
        {"log_level", [&](toml::node& n, const std::string& k) { read_log_level(n, k, c); }},
        {"log_file", [&](toml::node& n, const std::string& k) { read_.assign(c.log_file, n, k); }},
        {"database_url",
         [&](toml::node& n, const std::string& k) { read_database_url(n, k, c); }},
        {"external_ip",
         [&](toml::node& n, const std::string& k) { read_external_ip(n, k, c); }},
        {"ssl_certificate", [&](toml::node& n, const std::string& k) { read_.assign(c.ssl_certificate, n, k); }},
        {"ssl_private_key", [&](toml::node& n, const std::string& k) { read_.assign(c.ssl_private_key, n, k); }},
        {"proxy", [&](toml::node& n, const std::string& k) { read_proxy(n, k, c.proxy); }},
        {"console", [&](toml::node& n, const std::string& k) { read_console(n, k, c.console); }},
    };
  }

  void read_http_addr(toml::node& node, const std::string& key, Config& c) {
    auto value = read_.string(node, key);
    if (!value) return;
    if (!is_host_port(*value)) {
      read_.error(node, key, fmt::format("'{}' is not host:port (e.g. 0.0.0.0:8080)", *value));
      return;
    }
    c.http_addr = *value;
  }

  void read_https_addr(toml::node& node, const std::string& key, Config& c) {
    auto value = read_.string(node, key);
    if (!value) return;
    if (!value->empty() && !is_host_port(*value)) {
      read_.error(node, key, fmt::format("'{}' is not host:port (e.g. 0.0.0.0:8443)", *value));
      return;
    }
    c.https_addr = *value;
  }

  void read_console(toml::node& node, const std::string& key, ConsoleConfig& console) {
    auto* table = expect_table(node, key);
    if (!table) return;
    Handlers handlers = {
        {"base_path", [&](toml::node& n, const std::string& k) { read_console_base_path(n, k, console); }},
        {"secure_cookie", [&](toml::node& n, const std::string& k) { read_.assign(console.secure_cookie, n, k); }},
    };
    walk(*table, key, handlers, kConsoleNotYetSupported);
  }

  // "/console", "/admin/ui": an absolute path without a trailing slash (the
  // root "/" alone is refused: /api lives there).
  void read_console_base_path(toml::node& node, const std::string& key, ConsoleConfig& console) {
    auto value = read_.string(node, key);
    if (!value) return;
    bool valid = value->size() > 1 && value->front() == '/' && value->back() != '/' &&
                 value->find_first_of("?# \t") == std::string::npos && value->rfind("/api", 0) != 0;
    if (!valid) {
      read_.error(node, key, fmt::format("'{}' is not a path such as \"/console\" (no trailing '/', not under /api)", *value));
      return;
    }
    console.base_path = *value;
  }

  void read_log_level(toml::node& node, const std::string& key, Config& c) {
    auto value = read_.string(node, key);
    if (!value) return;
    if (!log::parse_level(*value)) {
      read_.error(node, key, fmt::format("unknown log level '{}' (expected one of {})", *value,
                                         log::level_names()));
      return;
    }
    c.log_level = lowercase(*value);
  }

  void read_database_url(toml::node& node, const std::string& key, Config& c) {
    auto value = read_.string(node, key);
    if (!value) return;
    std::string problem;
    if (!database_url::parse(*value, problem)) {
      read_.error(node, key, problem);
      return;
    }
    c.database_url = *value;
  }

  void read_external_ip(toml::node& node, const std::string& key, Config& c) {
    auto value = read_.string(node, key);
    if (!value) return;
    if (!value->empty() && !is_ip_address(*value)) {
      read_.error(node, key, fmt::format("'{}' is not an IPv4 or IPv6 address", *value));
      return;
    }
    c.external_ip = *value;
  }

  toml::table* expect_table(toml::node& node, const std::string& key) {
    if (auto* table = node.as_table()) return table;
    read_.error(node, key, fmt::format("expected table, got {}", type_name(node.type())));
    return nullptr;
  }

  void read_proxy(toml::node& node, const std::string& key, ProxyConfig& p) {
    if (auto* table = expect_table(node, key)) walk(*table, key, proxy_handlers(p),
                                                    kProxyNotYetSupported);
  }

  Handlers proxy_handlers(ProxyConfig& p) {
    auto text = [this](std::string& target) {
      return [this, &target](toml::node& n, const std::string& k) { read_.assign(target, n, k); };
    };
    auto strings = [this](std::vector<std::string>& target) {
      return [this, &target](toml::node& n, const std::string& k) { read_.assign(target, n, k); };
    };
    auto number = [this](uint32_t& target, int64_t min, int64_t max) {
      return [this, &target, min, max](toml::node& n, const std::string& k) {
        read_.assign(target, n, k, min, max);
      };
    };
    auto port = [this](uint16_t& target) {
      return [this, &target](toml::node& n, const std::string& k) {
        if (auto value = read_.port(n, k)) target = *value;
      };
    };
    auto optional_port = [this](std::optional<uint16_t>& target) {
      return [this, &target](toml::node& n, const std::string& k) {
        if (auto value = read_.port(n, k)) target = *value;
      };
    };
    return {
        {"addr", [&](toml::node& n, const std::string& k) { read_listen_addr(n, k, p); }},
        {"udp_port", port(p.udp_port)},
        {"tcp_port", port(p.tcp_port)},
        {"tls_port", optional_port(p.tls_port)},
        {"ws_port", optional_port(p.ws_port)},
        {"ws_handler", [&](toml::node& n, const std::string& k) { read_ws_handler(n, k, p); }},
        {"ssl_certificate", text(p.ssl_certificate)},
        {"ssl_private_key", text(p.ssl_private_key)},
        {"realms", [&](toml::node& n, const std::string& k) { read_realms(n, k, p); }},
        {"useragent", text(p.useragent)},
        {"callid_suffix", text(p.callid_suffix)},
        {"registrar_expires", number(p.registrar_expires, 1, kOneYear)},
        {"registrar_min_expires", number(p.registrar_min_expires, 1, kOneYear)},
        {"registrar_max_expires", number(p.registrar_max_expires, 1, kOneYear)},
        {"max_concurrency", number(p.max_concurrency, 1, 10'000'000)},
        {"ua_black_list", strings(p.ua_black_list)},
        {"ua_white_list", strings(p.ua_white_list)},
        {"ensure_user",
         [&](toml::node& n, const std::string& k) { read_.assign(p.ensure_user, n, k); }},
        {"session_timer",
         [&](toml::node& n, const std::string& k) { read_.assign(p.session_timer, n, k); }},
        {"session_expires", number(p.session_expires, 90, kOneDay)},
        {"max_call_duration", number(p.max_call_duration, 0, 7 * kOneDay)},
        {"no_answer_timeout", number(p.no_answer_timeout, 1, kOneDay)},
        {"modules", [&](toml::node& n, const std::string& k) { read_modules(n, k, p); }},
        {"acl_rules", strings(p.acl_rules)},
        {"user_backends",
         [&](toml::node& n, const std::string& k) { read_user_backends(n, k, p); }},
        {"locator", [&](toml::node& n, const std::string& k) { read_locator(n, k, p.locator); }},
        {"locator_webhook",
         [&](toml::node& n, const std::string& k) { read_locator_webhook(n, k, p); }},
        {"generated_dir", text(p.generated_dir)},
        {"cluster_secret", text(p.cluster_secret)},
        {"auth_algorithms",
         [&](toml::node& n, const std::string& k) { read_auth_algorithms(n, k, p); }},
        {"nonce_lifetime_seconds", number(p.nonce_lifetime_seconds, 1, kOneDay)},
        {"auth_md5_only_user_agents",
         [&](toml::node& n, const std::string& k) { read_md5_only_user_agents(n, k, p); }},
        {"auth_md5_fallback",
         [&](toml::node& n, const std::string& k) { read_.assign(p.auth_md5_fallback, n, k); }},
        {"io_threads", number(p.io_threads, 0, 1024)},
        {"tcp_idle_timeout_seconds", number(p.tcp_idle_timeout_seconds, 1, 7 * kOneDay)},
        {"max_message_size", number(p.max_message_size, 1024, 16 * 1024 * 1024)},
    };
  }

  void read_ws_handler(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto value = read_.string(node, key);
    if (!value) return;
    if (value->empty() || value->front() != '/' || value->find_first_of("?# \t") != std::string::npos) {
      read_.error(node, key, fmt::format("'{}' is not an HTTP path (e.g. \"/ws\")", *value));
      return;
    }
    p.ws_handler = *value;
  }

  void read_listen_addr(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto value = read_.string(node, key);
    if (!value) return;
    if (!is_ip_address(*value)) {
      read_.error(node, key, fmt::format("'{}' is not an IPv4 or IPv6 address", *value));
      return;
    }
    p.addr = *value;
  }

  // Calls `check` on each string element; the array is kept only if all pass.
  template <typename Check>
  std::optional<std::vector<std::string>> checked_strings(toml::node& node,
                                                          const std::string& key, Check check) {
    auto values = read_.string_array(node, key);
    if (!values) return std::nullopt;
    bool all_valid = true;
    for (size_t i = 0; i < values->size(); ++i) {
      std::string problem = check((*values)[i]);
      if (problem.empty()) continue;
      read_.error(*node.as_array()->get(i), indexed_key(key, i), problem);
      all_valid = false;
    }
    if (!all_valid) return std::nullopt;
    return values;
  }

  void read_realms(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto realms = checked_strings(node, key, [](const std::string& realm) {
      return realm.empty() ? std::string("a realm cannot be empty") : std::string();
    });
    if (realms) p.realms = std::move(*realms);
  }

  void read_modules(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto modules = checked_strings(node, key, [](const std::string& name) {
      if (kModules.count(name)) return std::string();
      return fmt::format("unknown module '{}' (expected {})", name, joined(kModules));
    });
    if (!modules) return;
    std::set<std::string> unique(modules->begin(), modules->end());
    if (unique.size() != modules->size()) read_.warning(node, key, "a module is listed twice");
    // The registrar trusts the user the auth module verified; without auth
    // before it, anyone could register any address.
    auto position = [&](std::string_view name) {
      return std::find(modules->begin(), modules->end(), name) - modules->begin();
    };
    if (unique.count("registrar") &&
        (!unique.count("auth") || position("auth") > position("registrar"))) {
      read_.error(node, key, "the registrar needs the auth module before it");
    }
    if (unique.count("call") && (!unique.count("auth") || position("auth") > position("call"))) {
      read_.error(node, key, "the call module needs the auth module before it");
    }
    p.modules = std::move(*modules);
  }

  void read_auth_algorithms(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto names = checked_strings(node, key, [](const std::string& name) {
      if (canonical_digest_algorithm(name)) return std::string();
      return fmt::format("unknown digest algorithm '{}' (expected SHA-256, SHA-512-256, MD5)",
                         name);
    });
    if (!names) return;
    if (names->empty()) {
      read_.error(node, key, "at least one digest algorithm is needed");
      return;
    }
    p.auth_algorithms.clear();
    for (const auto& name : *names) p.auth_algorithms.push_back(*canonical_digest_algorithm(name));
  }

  // Entries are "name" or "name<version" (digits and dots); the auth layer
  // parses them the same way (auth/user_agent_list.hpp).
  void read_md5_only_user_agents(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto entries = checked_strings(node, key, [](const std::string& entry) {
      size_t bound = entry.find('<');
      std::string_view name = trim(std::string_view(entry).substr(0, bound));
      if (name.empty()) return std::string("a User-Agent entry needs a name");
      if (bound == std::string::npos) return std::string();
      std::string_view version = trim(std::string_view(entry).substr(bound + 1));
      if (is_dotted_version(version)) return std::string();
      return fmt::format("'{}' after '<' is not a version such as 3.11", version);
    });
    if (entries) p.auth_md5_only_user_agents = std::move(*entries);
  }

  void read_user_backends(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto* entries = node.as_array();
    if (!entries) {
      read_.error(node, key,
                  fmt::format("expected array of tables ([[{}]]), got {}", key,
                              type_name(node.type())));
      return;
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      if (auto backend = read_user_backend(*entries->get(i), indexed_key(key, i)))
        p.user_backends.push_back(std::move(*backend));
    }
  }

  std::optional<UserBackendConfig> read_user_backend(toml::node& node, const std::string& key) {
    auto* table = expect_table(node, key);
    if (!table) return std::nullopt;
    auto type = read_backend_type(*table, key);
    bool users_valid = check_backend_users(*table, key);
    if (!type || !users_valid) return std::nullopt;
    UserBackendConfig backend;
    backend.type = *type;
    backend.key_path = key;
    backend.where = read_.where(*table);
    backend.config_dir = config_dir_;
    backend.table = std::move(*table);
    return backend;
  }

  std::optional<std::string> read_backend_type(toml::table& table, const std::string& key) {
    toml::node* type_node = table.get("type");
    if (!type_node) {
      read_.error(table, key, fmt::format("missing required key 'type' (one of {})",
                                          joined(kBackendTypes)));
      return std::nullopt;
    }
    auto type = read_.string(*type_node, key + ".type");
    if (type && !kBackendTypes.count(*type)) {
      read_.error(*type_node, key + ".type",
                  fmt::format("unknown user backend type '{}' (expected {})", *type,
                              joined(kBackendTypes)));
      return std::nullopt;
    }
    return type;
  }

  // `users = [{...}]` and [[...users]] both arrive as an array of tables;
  // anything else is a mistake worth reporting here, with its position.
  bool check_backend_users(toml::table& table, const std::string& key) {
    toml::node* users = table.get("users");
    if (!users) return true;
    std::string users_key = key + ".users";
    auto* list = users->as_array();
    if (!list) {
      read_.error(*users, users_key,
                  fmt::format("expected array of tables, got {}", type_name(users->type())));
      return false;
    }
    bool valid = true;
    for (size_t i = 0; i < list->size(); ++i) {
      if (list->get(i)->is_table()) continue;
      read_.error(*list->get(i), indexed_key(users_key, i),
                  fmt::format("expected table, got {}", type_name(list->get(i)->type())));
      valid = false;
    }
    return valid;
  }

  void read_locator(toml::node& node, const std::string& key, LocatorConfig& locator) {
    auto* table = expect_table(node, key);
    if (!table) return;
    for (auto [name_ptr, value_ptr] : in_file_order(*table)) {
      const toml::key& name = *name_ptr;
      toml::node& value = *value_ptr;
      std::string field = child_key(key, name.str());
      if (name == "type") read_locator_type(value, field, locator);
      else if (name == "max_bindings_per_aor")
        read_.assign(locator.max_bindings_per_aor, value, field, 1, 1000);
      else if (name == "max_bindings_total")
        read_.assign(locator.max_bindings_total, value, field, 1, 100000000);
      else if (name == "sweep_interval_seconds")
        read_.assign(locator.sweep_interval_seconds, value, field, 1, 3600);
      else if (!locator_takes_foreign_fields(*table))
        read_.warning(name, field, "unknown key; ignored");
    }
    locator.key_path = key;
    locator.where = read_.where(*table);
    locator.table = std::move(*table);
  }

  // The fields of database/http/redis locators (url, ...) are checked by
  // the locator factory, which knows each type's keys.
  static bool locator_takes_foreign_fields(const toml::table& table) {
    auto type = table["type"].value<std::string>();
    return type && *type != "memory";
  }

  void read_locator_type(toml::node& node, const std::string& key, LocatorConfig& locator) {
    auto type = read_.string(node, key);
    if (!type) return;
    if (!kLocatorTypes.count(*type)) {
      read_.error(node, key, fmt::format("unknown locator type '{}' (expected {})", *type,
                                         joined(kLocatorTypes)));
      return;
    }
    // Whether the type is built is the locator factory's business (app/).
    locator.type = *type;
  }

  void read_locator_webhook(toml::node& node, const std::string& key, ProxyConfig& p) {
    auto* table = expect_table(node, key);
    if (!table) return;
    LocatorWebhookConfig webhook;
    bool valid = true;
    for (auto [name_ptr, value_ptr] : in_file_order(*table)) {
      const toml::key& name = *name_ptr;
      toml::node& value = *value_ptr;
      std::string field = child_key(key, name.str());
      if (name == "url") valid &= read_webhook_url(value, field, webhook);
      else if (name == "events") valid &= read_webhook_events(value, field, webhook);
      else if (name == "timeout_ms") {
        auto timeout = read_.integer(value, field, 1, 600'000);
        if (timeout) webhook.timeout_ms = static_cast<uint32_t>(*timeout);
        valid &= timeout.has_value();
      } else if (name == "max_attempts") {
        auto attempts = read_.integer(value, field, 1, 100);
        if (attempts) webhook.max_attempts = static_cast<uint32_t>(*attempts);
        valid &= attempts.has_value();
      } else if (name == "queue_size") {
        auto size = read_.integer(value, field, 1, 10'000'000);
        if (size) webhook.queue_size = static_cast<uint32_t>(*size);
        valid &= size.has_value();
      } else if (name == "headers") valid &= read_webhook_headers(value, field, webhook);
      else read_.warning(name, field, "unknown key; ignored");
    }
    if (!table->contains("url")) {
      read_.error(*table, key, "missing required key 'url'");
      valid = false;
    }
    if (valid) p.locator_webhook = std::move(webhook);
  }

  bool read_webhook_url(toml::node& node, const std::string& key, LocatorWebhookConfig& webhook) {
    auto url = read_.string(node, key);
    if (!url) return false;
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      // The url is not echoed: it may carry credentials.
      read_.error(node, key, "expected an http:// or https:// url");
      return false;
    }
    webhook.url = *url;
    return true;
  }

  bool read_webhook_events(toml::node& node, const std::string& key,
                           LocatorWebhookConfig& webhook) {
    auto events = checked_strings(node, key, [](const std::string& event) {
      if (kWebhookEvents.count(event)) return std::string();
      return fmt::format("unknown event '{}' (expected {})", event, joined(kWebhookEvents));
    });
    if (events) webhook.events = std::move(*events);
    return events.has_value();
  }

  bool read_webhook_headers(toml::node& node, const std::string& key,
                            LocatorWebhookConfig& webhook) {
    auto* table = expect_table(node, key);
    if (!table) return false;
    bool valid = true;
    for (auto&& [name, value] : *table) {
      auto text = read_.string(value, child_key(key, name.str()));
      if (text) webhook.headers.emplace_back(std::string(name.str()), *text);
      else valid = false;
    }
    return valid;
  }

  SourceLocation position_of(const std::string& key) const {
    auto found = positions_.find(key);
    if (found != positions_.end()) return found->second;
    return {read_.file(), 0, 0};
  }

  void check_registrar_limits(const ProxyConfig& p) {
    if (p.registrar_min_expires > p.registrar_max_expires) {
      std::string key = positions_.count("proxy.registrar_min_expires")
                            ? "proxy.registrar_min_expires"
                            : "proxy.registrar_max_expires";
      diagnostics().error(position_of(key), key,
                          fmt::format("registrar_min_expires ({}) is above "
                                      "registrar_max_expires ({})",
                                      p.registrar_min_expires, p.registrar_max_expires));
      return;
    }
    if (p.registrar_expires < p.registrar_min_expires ||
        p.registrar_expires > p.registrar_max_expires) {
      diagnostics().warning(position_of("proxy.registrar_expires"), "proxy.registrar_expires",
                            fmt::format("{} is outside registrar_min_expires.."
                                        "registrar_max_expires ({}..{})",
                                        p.registrar_expires, p.registrar_min_expires,
                                        p.registrar_max_expires));
    }
  }

  // [proxy] ssl_* win over the top-level ones, key by key. The files are
  // checked here for what needs no TLS library (there, readable, PEM of the
  // right kind); whether the key matches the certificate is checked when the
  // transport loads them (start-up error naming both files).
  void resolve_tls_files(Config& c) {
    ProxyConfig& p = c.proxy;
    std::string certificate_key = p.ssl_certificate.empty() ? "ssl_certificate" : "proxy.ssl_certificate";
    std::string private_key_key = p.ssl_private_key.empty() ? "ssl_private_key" : "proxy.ssl_private_key";
    if (p.ssl_certificate.empty()) p.ssl_certificate = c.ssl_certificate;
    if (p.ssl_private_key.empty()) p.ssl_private_key = c.ssl_private_key;
    bool has_certificate = !p.ssl_certificate.empty();
    bool has_key = !p.ssl_private_key.empty();
    if (has_certificate != has_key) {
      const std::string& present = has_certificate ? certificate_key : private_key_key;
      diagnostics().error(position_of(present), present,
                          has_certificate ? "ssl_private_key is missing: TLS needs both files"
                                          : "ssl_certificate is missing: TLS needs both files");
    }
    if (has_certificate) check_pem_file(certificate_key, p.ssl_certificate, PemKind::Certificate);
    if (has_key) check_pem_file(private_key_key, p.ssl_private_key, PemKind::PrivateKey);
    if (!c.https_addr.empty() && !(has_certificate && has_key)) {
      diagnostics().error(position_of("https_addr"), "https_addr",
                          "HTTPS needs ssl_certificate and ssl_private_key (top level or in [proxy])");
    }
    if (p.tls_port && !(has_certificate && has_key)) {
      diagnostics().error(position_of("proxy.tls_port"), "proxy.tls_port",
                          "TLS needs ssl_certificate and ssl_private_key (top level or in [proxy])");
    }
  }

  enum class PemKind { Certificate, PrivateKey };

  // Reads the start of the file only: a PEM header is near its top.
  void check_pem_file(const std::string& key, const std::string& path, PemKind kind) {
    std::error_code ec;
    std::ifstream in(path, std::ios::binary);
    if (!fs::is_regular_file(path, ec) || !in) {
      diagnostics().error(position_of(key), key, fmt::format("'{}' is not a readable file", path));
      return;
    }
    std::string head(64 * 1024, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    std::string_view label = kind == PemKind::Certificate ? "CERTIFICATE-----" : "PRIVATE KEY-----";
    if (head.find("-----BEGIN ") == std::string::npos || head.find(label) == std::string::npos) {
      diagnostics().error(position_of(key), key,
                          fmt::format("'{}' holds no PEM {}", path,
                                      kind == PemKind::Certificate ? "certificate" : "private key"));
    }
  }

  Diagnostics& diagnostics_;
  ValueReader read_;
  std::string config_dir_;
  std::set<std::string> reported_;                  // not-yet-supported keys already warned
  std::map<std::string, SourceLocation> positions_;  // where each implemented key was set
};

}  // namespace

namespace detail {

std::string folder_of(const std::string& path) {
  std::error_code ignored;
  if (path.empty()) return fs::current_path(ignored).string();
  fs::path absolute = fs::absolute(fs::path(path), ignored);
  fs::path parent = absolute.parent_path();
  return parent.empty() ? fs::current_path(ignored).string() : parent.string();
}

void load_table(toml::table& root, const std::string& source_name, const std::string& config_dir,
                Config& config, Diagnostics& diagnostics) {
  Loader(diagnostics, source_name, config_dir).load(root, config);
}

}  // namespace detail

Config load_string(std::string_view toml_text, const std::string& source_name,
                   Diagnostics& diagnostics) {
  Config config;
  config.source_file = source_name;
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    diagnostics.error({source_name, begin.line, begin.column}, "",
                      std::string(e.description()));
    return config;
  }
  detail::load_table(root, source_name, detail::folder_of(source_name), config, diagnostics);
  return config;
}

Config load_file(const std::string& path, Diagnostics& diagnostics) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Config config;
    config.source_file = path;
    diagnostics.error({path, 0, 0}, "", "cannot open the file for reading");
    return config;
  }
  std::stringstream content;
  content << in.rdbuf();
  return load_string(content.str(), path, diagnostics);
}

void log_diagnostics(const Diagnostics& diagnostics) {
  for (const auto& item : diagnostics.all()) {
    if (item.severity == Diagnostic::Severity::Error) spdlog::error("{}", item.to_string());
    else spdlog::warn("{}", item.to_string());
  }
}

}  // namespace cppbx::config
