// GET /api/dashboard: what the console's first page shows. Everything here
// is read without blocking (the locator's binding count, the webhook's
// counters, the configuration), so it answers on the HTTP thread.
#include "common/version.hpp"
#include "http_api/api_context.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

json webhook_stats(const std::shared_ptr<location::LocatorWebhook>& webhook) {
  if (!webhook) return nullptr;
  location::LocatorWebhookStats stats = webhook->stats();
  return json{{"sent", stats.sent},         {"retried", stats.retried}, {"failed", stats.failed},
              {"dropped", stats.dropped},   {"queued", stats.queued},   {"in_flight", stats.in_flight}};
}

void dashboard(ApiContext& context, const Request&, Responder respond) {
  const auto now = std::chrono::system_clock::now();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - context.started_at);
  const auto snapshot = context.config();
  json backends = json::array();
  for (const auto& backend : snapshot->proxy.user_backends) backends.push_back(backend.type);
  const auto& locator = context.environment.locator;
  json registrations = {{"locator", snapshot->proxy.locator.type},
                        {"bindings", locator ? json(locator->binding_count()) : json(nullptr)}};
  respond(Response::json(200, json{{"version", std::string(kVersion)},
                                   {"uptime_seconds", uptime.count()},
                                   {"registrations", registrations},
                                   {"user_backends", backends},
                                   {"realms", snapshot->proxy.realms},
                                   {"webhook", webhook_stats(context.environment.webhook)}}));
}

}  // namespace

void add_dashboard_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/dashboard", [&context](const Request& r, Responder d) { dashboard(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
