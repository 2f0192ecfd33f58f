// What the route handlers share: the configuration as loaded, the running
// locator and webhook, the stores, the sessions and the worker pools. One
// ApiContext lives in HttpApi::Impl and outlives every handler call; the
// pools are destroyed first (HttpApi::Impl member order), so work still
// queued never sees a dead store.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "common/blocking_pool.hpp"
#include "http_api/api_message.hpp"
#include "http_api/http_api.hpp"
#include "http_api/lazy_extension_store.hpp"
#include "http_api/login_throttle.hpp"
#include "http_api/router.hpp"
#include "http_api/sessions.hpp"
#include "http_client/http_client.hpp"
#include "storage/admin_store.hpp"
#include "storage/extension_store.hpp"

namespace cppbx::http_api {

using ResponsePool = BlockingPoolOf<Response>;

struct ApiContext {
  HttpApiEnvironment environment;
  boost::asio::io_context& io;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  SessionStore& sessions;
  LoginThrottle& throttle;
  storage::AdminStore& admins;
  LazyExtensionStore& extensions;  // get() on workers only
  ResponsePool& store_pool;  // SQL and argon2id
  ResponsePool& test_pool;   // the settings Tests (build a backend, wait for it)
  std::shared_ptr<http::HttpClient> http_client;  // the webhook Test
  // Apply (PUT /api/settings/proxy): its own worker, because carrying the
  // registrations over to a new locator may wait longer than a Test may
  // (settings_applier.cpp). Null: test_pool.
  ResponsePool* apply_pool = nullptr;
  // Set when the API stops: Tests waiting for an answer give up at once.
  std::atomic<bool> stopping{false};

  // The locator webhook in force now; null without one.
  std::shared_ptr<location::LocatorWebhook> webhook() const {
    return environment.webhook ? environment.webhook() : nullptr;
  }

  // The configuration as last loaded (start-up, then each reload): a
  // snapshot, so one request sees one version even while it is replaced.
  std::shared_ptr<const config::Config> config() const {
    std::lock_guard lock(config_mutex);
    return current_config;
  }
  void set_config(config::Config fresh) {
    auto next = std::make_shared<const config::Config>(std::move(fresh));
    std::lock_guard lock(config_mutex);
    current_config = std::move(next);
  }
  mutable std::mutex config_mutex;
  std::shared_ptr<const config::Config> current_config;
};

// The database the extension backend reads (its own database_url, else the
// main one): where the API's extension routes write. Fixed at start.
std::string extension_database_url(const config::Config& config);

// The JSON body, or nullopt after answering 400 (`respond` used).
std::optional<nlohmann::json> json_body(const Request& request, const Responder& respond);
// Runs `work` on `pool` and answers with its Response.
void run_on(ResponsePool& pool, std::function<Response()> work, Responder respond);

// Route groups, one file each.
void add_auth_routes(Router& router, ApiContext& context);
void add_dashboard_routes(Router& router, ApiContext& context);
void add_extension_routes(Router& router, ApiContext& context);
void add_registration_routes(Router& router, ApiContext& context);
void add_settings_routes(Router& router, ApiContext& context);
void add_settings_test_routes(Router& router, ApiContext& context);

// The settings as the console sees them, secrets not yet masked (masking.hpp
// masks them; the Tests restore masked values from these).
nlohmann::json user_backend_json(const config::UserBackendConfig& backend);
nlohmann::json locator_json(const config::LocatorConfig& locator);
nlohmann::json webhook_json(const config::LocatorWebhookConfig& webhook);

}  // namespace cppbx::http_api
