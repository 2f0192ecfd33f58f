// GET /api/settings/proxy: realms, user backends (in order), locator and
// locator webhook as configured, every secret masked (masking.hpp).
// PUT /api/settings/proxy (Apply) takes the same shape back.
//
// Apply, design decisions:
// - Masked secrets are restored from the running settings before anything
//   else: a user backend only from the running backend at the same position
//   with the same type (and, as for the Tests, the same url), the locator
//   from the running locator, the webhook from the running webhook. A mask
//   that matches nothing is a problem at that entry, never saved as text.
// - The body becomes the text of the console's settings file and is read by
//   the config loader itself (config::apply_overlay_text), then the server
//   validates deeper with the backend and locator makers: the rules are the
//   configuration file's, and each problem comes back with the JSON path of
//   its field ("user_backends.1.url", "locator_webhook.timeout_ms").
// - The work (building backends, probing a locator, copying bindings)
//   runs on the API's test pool through environment.apply_settings; the
//   server serializes applies.
#include <algorithm>
#include <sstream>

#include "http_api/api_context.hpp"
#include "http_api/masking.hpp"
#include "http_api/toml_json.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

const char* const kSettingsKeys[] = {"realms", "user_backends", "locator", "locator_webhook"};

json settings_json(const config::ProxyConfig& proxy) {
  json backends = json::array();
  for (const auto& backend : proxy.user_backends) backends.push_back(masked(user_backend_json(backend)));
  return json{{"realms", proxy.realms},
              {"user_backends", backends},
              {"locator", masked(locator_json(proxy.locator))},
              {"locator_webhook", proxy.locator_webhook ? masked(webhook_json(*proxy.locator_webhook)) : json(nullptr)}};
}

void proxy_settings(ApiContext& context, const Request&, Responder respond) {
  respond(Response::json(200, settings_json(context.config()->proxy)));
}

// "proxy.user_backends[1].url" -> "user_backends.1.url"
std::string json_path(std::string_view key) {
  if (key.rfind("proxy.", 0) == 0) key.remove_prefix(6);
  std::string path;
  for (char c : key) {
    if (c == '[') path += '.';
    else if (c != ']') path += c;
  }
  return path;
}

json problem(std::string path, std::string message) {
  return json{{"path", std::move(path)}, {"message", std::move(message)}};
}

Response invalid(json problems, std::string error = "invalid settings") {
  return Response::json(400, json{{"error", std::move(error)}, {"problems", std::move(problems)}});
}

constexpr const char* kUnmatchedMask =
    "a masked value (********) matches no running secret here (same position, type and url); type the secret again";

// The four settings present, nothing else.
void check_shape(const json& body, json& problems) {
  for (const char* key : kSettingsKeys) {
    if (!body.contains(key)) problems.push_back(problem(key, "missing"));
  }
  for (const auto& [name, value] : body.items()) {
    if (std::find(std::begin(kSettingsKeys), std::end(kSettingsKeys), name) == std::end(kSettingsKeys)) {
      problems.push_back(problem(name, "unknown field"));
    }
  }
}

// Masked values back to the running secrets (rules at the top of the file).
void restore_secrets(json& body, const config::ProxyConfig& running, json& problems) {
  json& backends = body["user_backends"];
  for (size_t i = 0; backends.is_array() && i < backends.size(); ++i) {
    json& entry = backends[i];
    if (!entry.is_object() || !contains_mask(entry)) continue;
    std::vector<json> configured;
    if (i < running.user_backends.size() && entry["type"] == running.user_backends[i].type) {
      configured.push_back(user_backend_json(running.user_backends[i]));
    }
    if (!restore_masked(entry, configured)) problems.push_back(problem("user_backends." + std::to_string(i), kUnmatchedMask));
  }
  json& locator = body["locator"];
  if (locator.is_object() && !restore_masked(locator, {locator_json(running.locator)})) {
    problems.push_back(problem("locator", kUnmatchedMask));
  }
  json& webhook = body["locator_webhook"];
  if (webhook.is_object()) {
    std::vector<json> configured;
    if (running.locator_webhook) configured.push_back(webhook_json(*running.locator_webhook));
    if (!restore_masked(webhook, configured)) problems.push_back(problem("locator_webhook", kUnmatchedMask));
  }
}

bool proxy_complete(const toml::table& proxy) {
  return std::all_of(std::begin(kSettingsKeys), std::end(kSettingsKeys),
                     [&](const char* key) { return proxy.contains(key); });
}

// The body as the text of the console's settings file; problems for values
// TOML cannot hold.
std::optional<std::string> settings_file_text(const json& body, json& problems) {
  toml::table proxy;
  for (const char* key : kSettingsKeys) {
    json value = body[key];
    if (std::string_view(key) == "locator_webhook" && value.is_null()) value = false;  // no webhook
    std::string error;
    auto table = json_to_toml(json::object({{key, value}}), error);
    if (!table) {
      problems.push_back(problem(key, error));
      continue;
    }
    toml::node* node = table->get(key);
    if (!node) {
      problems.push_back(problem(key, "expected a value, got null"));
      continue;
    }
    node->visit([&](auto& typed) { proxy.insert_or_assign(key, typed); });
  }
  if (!proxy_complete(proxy)) return std::nullopt;
  std::ostringstream text;
  text << toml::table{{"proxy", std::move(proxy)}};
  return text.str();
}

// What runs live but not everywhere: the Extensions routes keep the
// extension database they opened at start.
json restart_required(const ApiContext& context, const config::Config& applied) {
  json fields = json::array();
  if (extension_database_url(applied) == extension_database_url(context.environment.config)) return fields;
  const auto& backends = applied.proxy.user_backends;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].type == "extension") {
      fields.push_back("user_backends." + std::to_string(i) + ".database_url");
      return fields;
    }
  }
  fields.push_back("user_backends");  // the extension backend was removed
  return fields;
}

json applied_answer(const ApiContext& context, const SettingsApplyResult& result) {
  return json{{"applied", true},
              {"file", result.file},
              {"settings", settings_json(result.applied.proxy)},
              {"restart_required", restart_required(context, result.applied)},
              {"locator_bindings_carried", result.locator_bindings_carried},
              {"warnings", result.warnings}};
}

Response apply_settings(ApiContext& context, json body) {
  const auto running = context.config();
  json problems = json::array();
  if (!body.is_object()) return invalid(json::array({problem("", "expected the settings object of GET /api/settings/proxy")}));
  check_shape(body, problems);
  if (!problems.empty()) return invalid(std::move(problems));
  // Unmatched masks and the loader's problems are reported together.
  restore_secrets(body, running->proxy, problems);
  auto text = settings_file_text(body, problems);
  if (!text) return invalid(std::move(problems));

  config::Config proposed = *running;
  config::Diagnostics diagnostics;
  config::apply_overlay_text(proposed, *text, "PUT /api/settings/proxy", diagnostics);
  for (const auto& item : diagnostics.all()) {
    if (item.severity == config::Diagnostic::Severity::Error) problems.push_back(problem(json_path(item.key), item.message));
  }
  if (!problems.empty()) return invalid(std::move(problems));

  SettingsApplyResult result = context.environment.apply_settings(std::move(proposed));
  switch (result.outcome) {
    case SettingsApplyResult::Outcome::Applied:
      return Response::json(200, applied_answer(context, result));
    case SettingsApplyResult::Outcome::NotSaved:
      return Response::error(500, result.error);
    case SettingsApplyResult::Outcome::Invalid:
      break;
  }
  for (const auto& item : result.problems) problems.push_back(problem(json_path(item.key), item.message));
  return invalid(std::move(problems), result.error.empty() ? "invalid settings" : result.error);
}

void put_proxy_settings(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  if (!context.environment.apply_settings) {
    respond(Response::error(503, "applying settings is not available"));
    return;
  }
  run_on(context.apply_pool ? *context.apply_pool : context.test_pool,
         [&context, body = std::move(*body)] { return apply_settings(context, body); },
         std::move(respond));
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
  router.add("PUT", "/api/settings/proxy",
             [&context](const Request& r, Responder d) { put_proxy_settings(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
