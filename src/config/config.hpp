// cppbx configuration: RustPBX's TOML keys, loaded into plain structs.
//
// Loading never throws on bad input: every problem is collected in
// Diagnostics with file, line, column and key, so --check-config can print
// all of them at once. Errors refuse start-up; warnings (unknown keys, keys of
// features not built yet) are logged once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/shared_table.hpp"

namespace cppbx::config {

struct SourceLocation {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

struct Diagnostic {
  enum class Severity { Error, Warning } severity = Severity::Error;
  SourceLocation where;
  std::string key;      // dotted path, e.g. "proxy.user_backends[1].path"
  std::string message;
  std::string to_string() const;  // "file:line:col: error: key: message"
};

class Diagnostics {
 public:
  void error(SourceLocation where, std::string key, std::string message);
  void warning(SourceLocation where, std::string key, std::string message);
  bool has_errors() const;
  const std::vector<Diagnostic>& all() const { return items_; }
 private:
  std::vector<Diagnostic> items_;
};

// A user backend entry: its type and its own table. Each backend type reads
// and validates its fields (users/backend_factory.hpp).
struct UserBackendConfig {
  std::string type;
  std::string key_path;       // "proxy.user_backends[0]"
  SourceLocation where;
  SharedTable table;          // the whole entry, type included (shared by copies)
  std::string config_dir;     // folder of the file it came from (relative paths)
  std::string database_url;   // the top-level database_url, for backends without their own
};

struct LocatorConfig {
  std::string type = "memory";
  std::string key_path = "proxy.locator";
  SourceLocation where;
  SharedTable table;
  uint32_t max_bindings_per_aor = 10;     // extension: oldest binding replaced beyond this
  uint32_t max_bindings_total = 1000000;  // extension: new bindings beyond it get 503
  uint32_t sweep_interval_seconds = 5;
};

struct LocatorWebhookConfig {
  std::string url;
  std::vector<std::string> events;
  uint32_t timeout_ms = 5000;
  std::vector<std::pair<std::string, std::string>> headers;
  uint32_t max_attempts = 3;   // extension: attempts per event (retries on errors, timeouts, 5xx)
  uint32_t queue_size = 10000; // extension: events waiting; the oldest is dropped beyond it
};

struct ProxyConfig {
  std::string addr = "0.0.0.0";
  uint16_t udp_port = 5060;
  uint16_t tcp_port = 5060;
  std::optional<uint16_t> tls_port;       // unset: no TLS listener
  std::optional<uint16_t> ws_port;        // unset: no WebSocket listener (ws:// and wss://)
  std::string ws_handler = "/ws";         // the WebSocket upgrade path
  // PEM files of TLS and WSS, as written in [proxy] or else at the top level
  // (the [proxy] one wins); paths relative to the working folder.
  std::string ssl_certificate;
  std::string ssl_private_key;
  std::vector<std::string> realms;
  std::string useragent = "cppbx";
  std::string callid_suffix;
  uint32_t registrar_expires = 60;        // default when a REGISTER gives none
  uint32_t registrar_min_expires = 60;    // below: 423 Interval Too Brief
  uint32_t registrar_max_expires = 7200;  // above: clamped
  uint32_t max_concurrency = 5000;
  std::vector<std::string> ua_black_list;
  std::vector<std::string> ua_white_list;
  bool ensure_user = false;
  // RFC 4028: a call whose 2xx names no Session-Expires is still ended when
  // no re-INVITE/UPDATE refreshes it for session_expires (+32 s).
  bool session_timer = false;
  uint32_t session_expires = 1800;
  // cppbx extension: a call is ended (in its record) after this many seconds
  // even while refreshed; 0: never.
  uint32_t max_call_duration = 14400;
  // cppbx extension: RFC 3261 Timer C, seconds an INVITE may ring without a
  // final answer after its last provisional response; then its branches are
  // cancelled and the caller gets 408.
  uint32_t no_answer_timeout = 180;
  // cppbx extension: shared by the nodes of one shared locator; lets a node
  // hand a call to the node holding the callee's flow. Empty: no relaying.
  std::string cluster_secret;
  std::vector<std::string> modules = {"acl", "auth", "registrar", "call"};
  std::vector<std::string> acl_rules;
  std::vector<UserBackendConfig> user_backends;
  LocatorConfig locator;
  std::optional<LocatorWebhookConfig> locator_webhook;
  // Digest algorithms offered, in challenge order (RFC 8760).
  std::vector<std::string> auth_algorithms = {"SHA-256", "MD5"};
  uint32_t nonce_lifetime_seconds = 300;
  // cppbx extension: clients whose User-Agent contains one of these
  // (case-insensitive; "name<version" limits it to older versions) are
  // challenged with MD5 alone. See docs/configuration.md for each entry.
  std::vector<std::string> auth_md5_only_user_agents = {"baresip<3.11", "PJSUA<2.12", "MicroSIP"};
  // cppbx extension: a client that could not answer an offer with SHA-256
  // gets MD5 alone for an hour.
  bool auth_md5_fallback = true;
  uint32_t io_threads = 0;                // 0: one per core
  uint32_t tcp_idle_timeout_seconds = 600;
  uint32_t max_message_size = 65535;
  std::string generated_dir = "./config";
};

// [console]: the web console and the JSON API under /api (http_api/).
struct ConsoleConfig {
  std::string base_path = "/console";  // where the console's pages are served
  bool secure_cookie = false;          // session cookie marked Secure (behind HTTPS)
};

struct Config {
  std::string source_file;                // empty for the embedded default
  std::string http_addr = "0.0.0.0:8080";
  // The same API over HTTPS (top-level ssl_certificate/ssl_private_key, else
  // the [proxy] ones); empty: no HTTPS listener.
  std::string https_addr;
  std::string log_level = "info";
  std::string log_file;
  std::string database_url = "sqlite://cppbx.sqlite3";
  std::string external_ip;
  // The top-level certificate and key (shared with HTTPS); proxy.ssl_* holds
  // the ones SIP uses, these unless [proxy] names its own.
  std::string ssl_certificate;
  std::string ssl_private_key;
  ProxyConfig proxy;
  ConsoleConfig console;
};

// Loads a TOML file. Returns the config even when diagnostics has errors (so
// callers can report them all); check diagnostics.has_errors().
Config load_file(const std::string& path, Diagnostics& diagnostics);
Config load_string(std::string_view toml_text, const std::string& source_name,
                   Diagnostics& diagnostics);

// The configuration used when cppbx starts without --conf: SIP on UDP and TCP
// 5060, SQLite in the working folder, memory locator, and one memory user
// whose password is generated at start (returned in `first_user`/`first_password`).
Config embedded_default(std::string& first_user, std::string& first_password);

// Logs each diagnostic once through spdlog (errors as error, warnings as warn).
void log_diagnostics(const Diagnostics& diagnostics);

// ---------------------------------------------------------------------------
// The console's settings file (overlay.cpp). Settings > Proxy Settings are
// saved by cppbx to <generated_dir>/proxy_settings.toml, never to the
// operator's file; that file is loaded over the main one. It may hold only
// [proxy] realms, [[proxy.user_backends]], [proxy.locator] and
// [proxy.locator_webhook] (or `locator_webhook = false`: no webhook); each of
// these present in it replaces the main file's value wholesale.

inline constexpr std::string_view kOverlayFileName = "proxy_settings.toml";

// proxy.generated_dir as an absolute path: a relative one is taken from the
// main config file's folder (the working folder for the embedded default).
std::string generated_dir_path(const Config& config);
// <generated_dir>/proxy_settings.toml
std::string overlay_path(const Config& config);

// Loads overlay TOML text over `config` (rules above). Problems go to
// `diagnostics` naming `source_name`, line, column and key; `config` is then
// left partly replaced, so callers refuse it. Relative paths in user
// backends stay relative to the main file's folder.
void apply_overlay_text(Config& config, std::string_view toml_text, const std::string& source_name,
                        Diagnostics& diagnostics);
// Loads overlay_path(config) over `config` when the file exists. Returns
// whether it existed (a missing overlay is no problem).
bool apply_overlay_file(Config& config, Diagnostics& diagnostics);
// load_file() and then, when the main file has no errors, its overlay.
Config load_file_with_overlay(const std::string& path, Diagnostics& diagnostics);

// [proxy.locator] as the settings file writes it: its options plus the typed
// keys. Equal tables mean the same locator (the console's Apply keeps it).
toml::table locator_as_table(const LocatorConfig& locator);

// The overlay text holding the four keys of `proxy` (always all four).
std::string overlay_text(const ProxyConfig& proxy);
// Writes overlay_text(config.proxy) to overlay_path(config) atomically
// (temporary file in the same folder, fsync, rename), mode 0600 (it may hold
// secrets), creating generated_dir when missing. false with `error` (no
// secret in it) when it cannot; the previous file is then untouched.
bool write_overlay_file(const Config& config, std::string& error);

}  // namespace cppbx::config
