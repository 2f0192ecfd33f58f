// GET /api/settings/proxy: realms, user backends (in order), locator and
// locator webhook as configured, every secret masked (masking.hpp). Apply
// (PUT) comes later and will take the same shape back, restoring masked
// values with restore_masked().
#include "http_api/api_context.hpp"
#include "http_api/masking.hpp"
#include "http_api/toml_json.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

void proxy_settings(ApiContext& context, const Request&, Responder respond) {
  const auto snapshot = context.config();
  const config::ProxyConfig& proxy = snapshot->proxy;
  json backends = json::array();
  for (const auto& backend : proxy.user_backends) backends.push_back(masked(user_backend_json(backend)));
  json settings = {{"realms", proxy.realms},
                   {"user_backends", backends},
                   {"locator", masked(locator_json(proxy.locator))},
                   {"locator_webhook", proxy.locator_webhook ? masked(webhook_json(*proxy.locator_webhook)) : json(nullptr)}};
  respond(Response::json(200, settings));
}

}  // namespace

json user_backend_json(const config::UserBackendConfig& backend) {
  json entry = toml_to_json(backend.table);
  entry["type"] = backend.type;
  return entry;
}

json locator_json(const config::LocatorConfig& locator) {
  json entry = toml_to_json(locator.table);
  entry["type"] = locator.type;
  entry["max_bindings_per_aor"] = locator.max_bindings_per_aor;
  entry["max_bindings_total"] = locator.max_bindings_total;
  entry["sweep_interval_seconds"] = locator.sweep_interval_seconds;
  return entry;
}

json webhook_json(const config::LocatorWebhookConfig& webhook) {
  json headers = json::object();
  for (const auto& [name, value] : webhook.headers) headers[name] = value;
  return json{{"url", webhook.url},
              {"events", webhook.events},
              {"headers", headers},
              {"timeout_ms", webhook.timeout_ms},
              {"max_attempts", webhook.max_attempts},
              {"queue_size", webhook.queue_size}};
}

void add_settings_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/settings/proxy",
             [&context](const Request& r, Responder d) { proxy_settings(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
