// GET /api/dashboard: what the console's first page shows.
//
// Design decisions:
// - The registrations figures come from the running locator's list() (all
//   bindings, every node's where the store is shared), so the handler answers
//   from the locator's callback, on whichever thread that is; a locator that
//   fails to list leaves the figures it cannot know null and says so.
// - Everything else (webhook counters, configuration, user backend health)
//   is read without blocking.
// - The user backends' health is lent by the server through
//   HttpApiEnvironment::user_backend_health; until that field exists (it is
//   added where the environment is defined) or while it is empty, the
//   dashboard simply leaves "user_backend_health" out.
#include <ctime>
#include <set>

#include <spdlog/spdlog.h>

#include "common/version.hpp"
#include "http_api/api_context.hpp"
#include "users/backend_chain.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

json webhook_stats(const std::shared_ptr<location::LocatorWebhook>& webhook) {
  if (!webhook) return nullptr;
  location::LocatorWebhookStats stats = webhook->stats();
  return json{{"sent", stats.sent},         {"retried", stats.retried}, {"failed", stats.failed},
              {"dropped", stats.dropped},   {"queued", stats.queued},   {"in_flight", stats.in_flight}};
}

std::string iso8601_utc(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

[[maybe_unused]] json backend_health_json(const std::vector<users::BackendHealth>& health) {
  json out = json::array();
  for (const auto& backend : health) {
    out.push_back(json{{"type", backend.type},
                       {"lookups", backend.lookups},
                       {"errors", backend.errors},
                       {"last_error_at", backend.last_error_at ? json(iso8601_utc(*backend.last_error_at)) : json(nullptr)},
                       {"last_error", backend.last_error}});
  }
  return out;
}

// The health list, or nullopt when the environment lends none.
template <typename Environment>
std::optional<json> user_backend_health(const Environment& environment) {
  if constexpr (requires { environment.user_backend_health; }) {
    if (environment.user_backend_health) return backend_health_json(environment.user_backend_health());
  }
  return std::nullopt;
}

json registrations_json(const std::string& type, const location::ListResult& listed) {
  if (!listed.ok) {
    return json{{"locator", type}, {"bindings", nullptr}, {"users", nullptr}, {"error", "the location store did not answer"}};
  }
  std::set<std::string> aors;
  for (const auto& binding : listed.bindings) aors.insert(binding.aor);
  return json{{"locator", type}, {"bindings", listed.total}, {"users", aors.size()}};
}

void dashboard(ApiContext& context, const Request&, Responder respond) {
  const auto now = std::chrono::system_clock::now();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - context.started_at);
  const auto snapshot = context.config();
  json backends = json::array();
  for (const auto& backend : snapshot->proxy.user_backends) backends.push_back(backend.type);
  json body{{"version", std::string(kVersion)},
            {"uptime_seconds", uptime.count()},
            {"user_backends", backends},
            {"realms", snapshot->proxy.realms},
            {"webhook", webhook_stats(context.webhook())}};
  if (auto health = user_backend_health(context.environment)) body["user_backend_health"] = std::move(*health);

  std::shared_ptr<location::Locator> locator = context.environment.locator;
  const std::string type = snapshot->proxy.locator.type;
  if (!locator) {
    body["registrations"] = json{{"locator", type}, {"bindings", nullptr}, {"users", nullptr}};
    respond(Response::json(200, body));
    return;
  }
  location::ListRequest everything;
  everything.limit = 0;
  locator->list(std::move(everything), [body = std::move(body), type, respond = std::move(respond)](
                                           location::ListResult listed) mutable {
    if (!listed.ok) spdlog::warn("http api: dashboard: listing registrations failed: {}", listed.detail);
    body["registrations"] = registrations_json(type, listed);
    respond(Response::json(200, body));
  });
}

}  // namespace

void add_dashboard_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/dashboard", [&context](const Request& r, Responder d) { dashboard(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
