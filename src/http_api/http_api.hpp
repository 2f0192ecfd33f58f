// The JSON API of the web console (docs/http-api.md), served on http_addr.
//
// Design decisions:
// - Its own io_context and thread (Boost.Beast), never the SIP threads: the
//   console can be slow or busy without touching a REGISTER. Anything that
//   blocks (SQL, argon2id, building a backend under test) runs on the API's
//   own BlockingPoolOf workers; HTTP calls go through an asynchronous
//   http_client.
// - The layer does not depend on app/: the server lends it what it needs
//   (the running locator and webhook, a locator maker for the locator Test).
// - Not being able to listen on http_addr is logged as an error and leaves
//   SIP running (start() returns nullptr): the PBX matters more than its
//   console. https_addr (with ssl_certificate/ssl_private_key) adds the same
//   API over TLS; if that fails, it is logged and HTTP still serves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "location/locator.hpp"
#include "location/locator_webhook.hpp"
#include "storage/admin_store.hpp"
#include "transport/websocket_handover.hpp"
#include "users/backend_chain.hpp"

namespace cppbx::http_api {

// Builds a locator from a [proxy.locator]-shaped config (for the Test of a
// locator); `io` is the API's own context. Same contract as app::make_locator.
using LocatorMaker = std::function<std::shared_ptr<location::Locator>(
    const config::LocatorConfig& config, boost::asio::io_context& io, config::Diagnostics& diagnostics)>;

// The console's Apply (PUT /api/settings/proxy) as the server carries it
// out: validate deeply (backend and locator makers), build and start the new
// pieces, save the settings file, swap them in. `proposed` is the running
// configuration with the four settings replaced, already through the
// config loader.
struct SettingsApplyResult {
  enum class Outcome { Applied, Invalid, NotSaved };
  Outcome outcome = Outcome::Invalid;
  // Invalid: each problem with its configuration key ("proxy.locator.url").
  std::vector<config::Diagnostic> problems;
  std::string error;                      // Invalid / NotSaved: one line, no secret
  std::string file;                       // Applied: the settings file written
  size_t locator_bindings_carried = 0;    // Applied with a new locator
  std::vector<std::string> warnings;      // Applied, but something to know
  config::Config applied;                 // Applied: the configuration now running
};
using SettingsApplier = std::function<SettingsApplyResult(config::Config proposed)>;

struct HttpApiEnvironment {
  config::Config config;                               // as loaded; shown by the settings routes
  // The running locator: the server's swappable indirection, so it stays the
  // one in force after an Apply changes the locator.
  std::shared_ptr<location::Locator> locator;
  // The webhook in force now (null without [proxy.locator_webhook]); Apply
  // may replace it, so it is asked each time (ApiContext::webhook()).
  std::function<std::shared_ptr<location::LocatorWebhook>()> webhook;
  // Counters of the running user backend chain (dashboard); null: none lent.
  std::function<std::vector<users::BackendHealth>()> user_backend_health;
  LocatorMaker make_locator;
  std::string home_proxy;                              // this node's SIP address (sample events)
  storage::AdminHashCost admin_hash_cost;              // tests lower it
  // SIP over WebSocket at proxy.ws_handler on http_addr (RFC 7118): upgrades
  // there are handed to the transport; null: that path is an API 404.
  transport::WebSocketHandover* websocket = nullptr;
  // PUT /api/settings/proxy; called on an API worker, never on the HTTP or a
  // SIP thread. Null: the route answers 503.
  SettingsApplier apply_settings;
};

class HttpApi {
 public:
  // Opens the databases, binds http_addr and starts serving. nullptr with
  // the reason in `error` (never a secret) when it cannot.
  static std::unique_ptr<HttpApi> start(HttpApiEnvironment environment, std::string& error);
  ~HttpApi();  // stops serving, answers what is pending, joins its threads
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  uint16_t port() const;
  uint16_t https_port() const;  // 0 without HTTPS
  // Replaces the configuration the settings routes show and the Tests take
  // masked secrets from (after a reload). Thread-safe.
  void set_config(config::Config config);
  // Every route as (method, pattern), in registration order.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Impl;
  explicit HttpApi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cppbx::http_api
