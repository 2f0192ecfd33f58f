// The live registrations: GET /api/registrations (one page of the running
// locator's bindings) and POST /api/registrations/remove (one binding).
//
// Design decisions:
// - The locator does the enumeration and the removal (Locator::list and
//   remove) on its own threads; the handlers answer from its callback, which
//   the Responder allows from any thread. Nothing here blocks the API's thread.
// - An administrator's removal is reported like a REGISTER's removal: the
//   webhook hears `unregistered` for it (the locator itself reports only
//   expiry and closed connections). It is logged at info with the admin's
//   username, the AoR and where the phone was (not the contact URI, which
//   may carry a password).
// - Store failures answer 503 with a fixed message; the locator's detail goes
//   to the log only.
#include <spdlog/spdlog.h>

#include "http_api/api_context.hpp"
#include "http_api/paging.hpp"
#include "location/location_payload.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

constexpr size_t kMaxFieldLength = 1000;  // an AoR or a binding key
constexpr const char* kStoreFailed = "the location store did not answer; try again";

std::string lower_transport(transport::Protocol protocol) {
  std::string name(location::transport_name(protocol));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

json registration_json(const location::Binding& binding, location::Clock::time_point now) {
  return json{{"aor", binding.aor},
              {"key", binding.key()},
              {"contact", binding.contact},
              {"transport", lower_transport(binding.transport)},
              {"destination", binding.destination},
              {"user_agent", binding.user_agent},
              {"expires_in", binding.remaining_seconds(now)},
              {"node", binding.home_proxy},
              {"supports_webrtc", binding.supports_webrtc}};
}

void list(ApiContext& context, const Request& request, Responder respond) {
  auto paging = paging_of(request);
  if (!paging) {
    respond(Response::error(400, Paging::kProblem));
    return;
  }
  std::shared_ptr<location::Locator> locator = context.environment.locator;
  if (!locator) {
    respond(Response::error(503, "no locator is running"));
    return;
  }
  location::ListRequest list_request;
  list_request.aor_contains = request.query_value("user");
  list_request.offset = static_cast<size_t>(paging->page - 1) * static_cast<size_t>(paging->per_page);
  list_request.limit = static_cast<size_t>(paging->per_page);
  const std::string type(locator->type());
  locator->list(std::move(list_request), [respond = std::move(respond), type, page = paging->page,
                                          per_page = paging->per_page](location::ListResult result) {
    if (!result.ok) {
      spdlog::warn("http api: listing registrations failed: {}", result.detail);
      respond(Response::error(503, kStoreFailed));
      return;
    }
    const auto now = location::Clock::now();
    json items = json::array();
    for (const auto& binding : result.bindings) items.push_back(registration_json(binding, now));
    respond(Response::json(200, json{{"items", std::move(items)},
                                     {"total", result.total},
                                     {"page", page},
                                     {"per_page", per_page},
                                     {"locator", type}}));
  });
}

// A required, non-empty, bounded string field of the body.
std::optional<std::string> text_field(const json& body, const char* name) {
  auto found = body.find(name);
  if (found == body.end() || !found->is_string()) return std::nullopt;
  std::string value = found->get<std::string>();
  if (value.empty() || value.size() > kMaxFieldLength) return std::nullopt;
  return value;
}

void remove(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  std::optional<std::string> aor = body->is_object() ? text_field(*body, "aor") : std::nullopt;
  std::optional<std::string> key = body->is_object() ? text_field(*body, "key") : std::nullopt;
  if (!aor || !key) {
    respond(Response::error(400, "aor and key must be non-empty strings"));
    return;
  }
  std::shared_ptr<location::Locator> locator = context.environment.locator;
  if (!locator) {
    respond(Response::error(503, "no locator is running"));
    return;
  }
  const std::string admin = request.session ? request.session->username : std::string();
  locator->remove(*aor, *key,
                  [respond = std::move(respond), webhook = context.webhook(), admin, aor = *aor,
                   key = *key](location::UpdateResult result) {
                    if (result.status == location::UpdateStatus::Error) {
                      spdlog::warn("http api: removing a registration of {} failed: {}", aor, result.detail);
                      respond(Response::error(503, kStoreFailed));
                      return;
                    }
                    if (result.removed.empty()) {
                      respond(Response::error(404, "no such registration"));
                      return;
                    }
                    for (const auto& binding : result.removed) {
                      spdlog::info("http api: admin '{}' removed the registration of {} from {}", admin, aor,
                                   binding.destination);
                    }
                    if (webhook) webhook->on_unregistered(result.removed);
                    respond(Response::json(200, json{{"removed", true}, {"aor", aor}, {"key", key}}));
                  });
}

}  // namespace

void add_registration_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/registrations",
             [&context](const Request& r, Responder d) { list(context, r, std::move(d)); });
  router.add("POST", "/api/registrations/remove",
             [&context](const Request& r, Responder d) { remove(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
