// The settings Tests: POST /api/settings/test/user-backend, .../locator and
// .../webhook. Each does the real thing and changes nothing.
//
// Design decisions:
// - A backend or locator under test is built by the same makers as at
//   start-up, from the submitted JSON turned back into TOML, so the Test
//   checks exactly what Apply would accept. It lives only for the Test: it
//   is built, asked once and destroyed on a test_pool worker (building may
//   connect or read files; a plain backend starts a watcher thread).
// - Masked values in the submission are replaced by the configured secrets
//   (masking.hpp: only for the same url); one that matches nothing is
//   refused with 400 instead of being sent masked.
// - Latency is measured around the lookup alone, not the construction.
// - The locator Test starts the locator, looks up a random AoR that cannot
//   exist (sip:cppbx-test-<hex>@invalid) and expects a well-formed empty
//   answer: it proves the store is reachable and answers, writes nothing.
// - The webhook Test POSTs one sample `registered` event in the documented
//   payload (location_payload.hpp) through the asynchronous HTTP client.
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <fmt/format.h>

#include "common/random.hpp"
#include "http_api/api_context.hpp"
#include "http_api/masking.hpp"
#include "http_api/toml_json.hpp"
#include "location/location_payload.hpp"
#include "users/backend_factory.hpp"
#include "users/plain_backend.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kDefaultWait{10000};
constexpr std::chrono::milliseconds kMaxWait{25000};  // below the test pool's timeout
constexpr size_t kBodyStart = 200;

double milliseconds_since(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

std::string error_text(const config::Diagnostics& diagnostics) {
  std::string text;
  for (const auto& item : diagnostics.all()) {
    if (item.severity != config::Diagnostic::Severity::Error) continue;
    if (!text.empty()) text += "; ";
    text += item.key + ": " + item.message;
  }
  return text.empty() ? "invalid configuration" : text;
}

// How long to wait for an answer: the entry's own timeout_ms plus a second.
std::chrono::milliseconds wait_for(const json& entry) {
  if (entry.contains("timeout_ms") && entry["timeout_ms"].is_number_integer()) {
    auto ms = std::chrono::milliseconds(entry["timeout_ms"].get<int64_t>() + 1000);
    return std::clamp(ms, std::chrono::milliseconds(1000), kMaxWait);
  }
  return kDefaultWait;
}

// Waits for `future` up to `timeout`, giving up early when the API stops
// (so shutdown never waits for a stuck store).
template <typename Value>
bool answered_in_time(std::future<Value>& future, std::chrono::milliseconds timeout, const std::atomic<bool>& stopping) {
  const auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline && !stopping.load()) {
    if (future.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) return true;
  }
  return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

std::string config_dir(const config::Config& config) {
  std::error_code ignored;
  if (config.source_file.empty()) return std::filesystem::current_path(ignored).string();
  return std::filesystem::absolute(config.source_file, ignored).parent_path().string();
}

std::string_view outcome_name(users::LookupOutcome outcome) {
  switch (outcome) {
    case users::LookupOutcome::Found: return "found";
    case users::LookupOutcome::NotFound: return "not_found";
    case users::LookupOutcome::Denied: return "denied";
    case users::LookupOutcome::Error: return "error";
  }
  return "error";
}

json user_fields(const users::SipUser& user) {
  return json{{"username", user.username},
              {"password", user.password.empty() ? "" : std::string(kMask)},
              {"ha1_md5", user.ha1_md5 ? json(std::string(kMask)) : json(nullptr)},
              {"realm", user.realm},
              {"display_name", user.display_name},
              {"enabled", user.enabled},
              {"allow_guest_calls", user.allow_guest_calls}};
}

// The plain backend's file, parsed again for its bad lines.
json plain_bad_lines(const config::UserBackendConfig& backend) {
  json lines = json::array();
  auto path_value = backend.table["path"].value<std::string>();
  if (!path_value) return lines;
  std::filesystem::path path(*path_value);
  if (path.is_relative()) path = std::filesystem::path(backend.config_dir) / path;
  std::ifstream file(path);
  if (!file) return lines;
  std::ostringstream text;
  text << file.rdbuf();
  for (const auto& [line, problem] : users::parse_plain_users(text.str()).problems) {
    lines.push_back(json{{"line", line}, {"problem", problem}});
  }
  return lines;
}

json result_json(std::string_view outcome, double latency_ms, std::string detail) {
  return json{{"outcome", std::string(outcome)}, {"latency_ms", latency_ms}, {"detail", std::move(detail)}};
}

Response test_user_backend(const ApiContext& context, const json& entry, const users::LookupRequest& lookup) {
  std::string error;
  auto table = json_to_toml(entry, error);
  if (!table) return Response::error(400, "backend: " + error);
  config::UserBackendConfig backend;
  backend.type = entry["type"].get<std::string>();
  backend.key_path = "backend";
  backend.table = std::move(*table);
  const auto snapshot = context.config();
  backend.config_dir = config_dir(*snapshot);
  backend.database_url = snapshot->database_url;

  config::Diagnostics diagnostics;
  auto built = users::make_backend(backend, diagnostics);
  json answer = result_json("error", 0, built ? "" : error_text(diagnostics));
  if (backend.type == "plain") answer["bad_lines"] = plain_bad_lines(backend);
  if (!built) return Response::json(200, answer);

  auto promise = std::make_shared<std::promise<users::LookupResult>>();
  auto future = promise->get_future();
  const auto started = Steady::now();
  built->lookup(lookup, [promise](users::LookupResult result) { promise->set_value(std::move(result)); });
  if (!answered_in_time(future, wait_for(entry), context.stopping)) {
    answer["latency_ms"] = milliseconds_since(started);
    answer["detail"] = "no answer in time";
    return Response::json(200, answer);
  }
  users::LookupResult result = future.get();
  answer["latency_ms"] = milliseconds_since(started);
  answer["outcome"] = std::string(outcome_name(result.outcome));
  answer["detail"] = result.detail;
  answer["fields"] = result.outcome == users::LookupOutcome::Found ? user_fields(result.user) : json(nullptr);
  if (result.outcome == users::LookupOutcome::Denied) answer["sip_code"] = result.sip_code;
  return Response::json(200, answer);
}

std::vector<json> configured_backends(const config::Config& config) {
  std::vector<json> entries;
  for (const auto& backend : config.proxy.user_backends) entries.push_back(user_backend_json(backend));
  return entries;
}

void user_backend_test(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  if (!body->is_object() || !(*body)["backend"].is_object() || !(*body)["backend"]["type"].is_string() ||
      !(*body)["username"].is_string()) {
    respond(Response::error(400, "expected {\"backend\": {\"type\": ...}, \"username\": ..., \"realm\": ...}"));
    return;
  }
  json entry = (*body)["backend"];
  const auto snapshot = context.config();
  if (!restore_masked(entry, configured_backends(*snapshot))) {
    respond(Response::error(400, "a masked value matches no configured secret for this url; type the secret again"));
    return;
  }
  users::LookupRequest lookup{(*body)["username"].get<std::string>(),
                              body->contains("realm") && (*body)["realm"].is_string()
                                  ? (*body)["realm"].get<std::string>() : std::string()};
  if (lookup.realm.empty() && !snapshot->proxy.realms.empty()) lookup.realm = snapshot->proxy.realms.front();
  run_on(context.test_pool, [&context, entry, lookup] { return test_user_backend(context, entry, lookup); },
         std::move(respond));
}

Response test_locator(ApiContext& context, const json& entry) {
  config::LocatorConfig locator;
  locator.type = entry["type"].get<std::string>();
  locator.key_path = "locator";
  std::string error;
  json fields = entry;
  for (const char* shared : {"max_bindings_per_aor", "max_bindings_total", "sweep_interval_seconds"}) fields.erase(shared);
  auto table = json_to_toml(fields, error);
  if (!table) return Response::error(400, "locator: " + error);
  locator.table = std::move(*table);
  config::Diagnostics diagnostics;
  auto built = context.environment.make_locator ? context.environment.make_locator(locator, context.io, diagnostics)
                                                : nullptr;
  if (!built) return Response::json(200, result_json("error", 0, error_text(diagnostics)));
  built->start();
  auto promise = std::make_shared<std::promise<location::LookupResult>>();
  auto future = promise->get_future();
  const std::string aor = "sip:cppbx-test-" + random::hex(8) + "@invalid";
  const auto started = Steady::now();
  built->lookup(aor, [promise](location::LookupResult result) { promise->set_value(std::move(result)); });
  json answer = result_json("error", 0, "no answer in time");
  answer["type"] = locator.type;
  answer["aor"] = aor;
  if (answered_in_time(future, wait_for(entry), context.stopping)) {
    location::LookupResult result = future.get();
    answer["latency_ms"] = milliseconds_since(started);
    answer["outcome"] = result.ok ? "ok" : "error";
    answer["detail"] = result.ok ? fmt::format("lookup answered with {} bindings", result.bindings.size())
                                 : result.detail;
  } else {
    answer["latency_ms"] = milliseconds_since(started);
  }
  built->stop();
  return Response::json(200, answer);
}

void locator_test(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  if (!body->is_object() || !(*body)["locator"].is_object() || !(*body)["locator"]["type"].is_string()) {
    respond(Response::error(400, "expected {\"locator\": {\"type\": ...}}"));
    return;
  }
  json entry = (*body)["locator"];
  if (!restore_masked(entry, {locator_json(context.config()->proxy.locator)})) {
    respond(Response::error(400, "a masked value matches no configured secret for this url; type the secret again"));
    return;
  }
  run_on(context.test_pool, [&context, entry] { return test_locator(context, entry); }, std::move(respond));
}

location::Binding sample_binding(const ApiContext& context) {
  const auto snapshot = context.config();
  const auto& realms = snapshot->proxy.realms;
  location::Binding binding;
  binding.aor = "sip:webhook-test@" + (realms.empty() ? std::string("example.invalid") : realms.front());
  binding.contact = "sip:webhook-test@192.0.2.1:5060";
  binding.destination = "udp:192.0.2.1:5060";
  binding.user_agent = "cppbx webhook test";
  binding.expires_at = location::Clock::now() + std::chrono::seconds(60);
  binding.last_modified = location::Clock::now();
  binding.home_proxy = context.environment.home_proxy;
  binding.call_id = "webhook-test-" + random::hex(8);
  binding.cseq = 1;
  return binding;
}

// The webhook Test's request, or a 400 answer in `problem`.
std::optional<http::HttpRequest> webhook_request(const ApiContext& context, json& body, std::string& problem) {
  if (!body.is_object() || !body["url"].is_string()) {
    problem = "expected {\"url\": ..., \"headers\": {...}, \"timeout_ms\": ...}";
    return std::nullopt;
  }
  std::string url = body["url"].get<std::string>();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    problem = "url must start with http:// or https://";
    return std::nullopt;
  }
  std::vector<json> configured;
  const auto snapshot = context.config();
  if (snapshot->proxy.locator_webhook) configured.push_back(webhook_json(*snapshot->proxy.locator_webhook));
  if (!restore_masked(body, configured)) {
    problem = "a masked value matches no configured secret for this url; type the secret again";
    return std::nullopt;
  }
  http::HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers.emplace_back("Content-Type", "application/json");
  if (body.contains("headers") && !body["headers"].is_null()) {
    if (!body["headers"].is_object()) {
      problem = "headers must be an object of names and string values";
      return std::nullopt;
    }
    for (const auto& [name, value] : body["headers"].items()) {
      if (!value.is_string()) {
        problem = "header " + name + " must be a string";
        return std::nullopt;
      }
      request.headers.emplace_back(name, value.get<std::string>());
    }
  }
  int64_t timeout_ms = 5000;
  if (body.contains("timeout_ms")) {
    if (!body["timeout_ms"].is_number_integer() || body["timeout_ms"].get<int64_t>() < 1 ||
        body["timeout_ms"].get<int64_t>() > 60000) {
      problem = "timeout_ms must be an integer from 1 to 60000";
      return std::nullopt;
    }
    timeout_ms = body["timeout_ms"].get<int64_t>();
  }
  request.timeout = std::chrono::milliseconds(timeout_ms);
  request.body = location::binding_event_payload(location::LocationEvent::Registered, sample_binding(context),
                                                 location::Clock::now());
  return request;
}

void webhook_test(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  std::string problem;
  auto outgoing = webhook_request(context, *body, problem);
  if (!outgoing) {
    respond(Response::error(400, problem));
    return;
  }
  if (!context.http_client) {
    respond(Response::error(503, "the HTTP client is not available"));
    return;
  }
  const auto started = Steady::now();
  std::string sent = outgoing->body;
  context.http_client->submit(std::move(*outgoing), [respond, started, sent](http::HttpResponse answer) {
    json result = {{"latency_ms", milliseconds_since(started)}, {"payload", json::parse(sent, nullptr, false)}};
    if (answer.answered()) {
      result["status"] = answer.status;
      result["body_start"] = http::printable(answer.body, kBodyStart);
      result["outcome"] = answer.status >= 200 && answer.status < 300 ? "ok" : "refused";
    } else {
      result["status"] = 0;
      result["outcome"] = "error";
      result["detail"] = std::string(http::error_name(answer.error)) + ": " + answer.detail;
    }
    respond(Response::json(200, result));
  });
}

}  // namespace

void add_settings_test_routes(Router& router, ApiContext& context) {
  router.add("POST", "/api/settings/test/user-backend",
             [&context](const Request& r, Responder d) { user_backend_test(context, r, std::move(d)); });
  router.add("POST", "/api/settings/test/locator",
             [&context](const Request& r, Responder d) { locator_test(context, r, std::move(d)); });
  router.add("POST", "/api/settings/test/webhook",
             [&context](const Request& r, Responder d) { webhook_test(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
