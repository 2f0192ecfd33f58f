// /api/extensions: the PBX's own extensions through storage::ExtensionStore,
// so every change is announced on the process-wide ExtensionChanges hub and
// the extension user backend drops its cached entry at once.
//
// Design decisions:
// - The JSON names the extension `username` (what a phone registers with);
//   the SIP password is never returned, only kMask when one is set. The one
//   route that shows a password is generate-password, which stores nothing.
// - PUT changes the fields it is given and keeps the others (the console
//   may send the whole form or one field); a password of kMask or an absent
//   one keeps the stored password.
// - Search and paging run over the store's sorted list: extensions number in
//   the thousands at most, so one SELECT and a filter in memory are simpler
//   than per-dialect LIKE/LIMIT and fast enough.
#include <algorithm>

#include "common/random.hpp"
#include "common/strings.hpp"
#include "http_api/api_context.hpp"
#include "http_api/paging.hpp"
#include "http_api/masking.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;
using storage::Extension;
using storage::StoreStatus;

constexpr size_t kGeneratedPasswordLength = 24;  // about 143 bits from [A-Za-z0-9]

json extension_json(const Extension& e) {
  return json{{"username", e.extension},
              {"password", e.sip_password.empty() ? "" : std::string(kMask)},
              {"display_name", e.display_name},
              {"email", e.email},
              {"enabled", !e.login_disabled},
              {"allow_guest_calls", e.allow_guest_calls},
              {"call_forwarding_mode", e.call_forwarding_mode},
              {"call_forwarding_destination", e.call_forwarding_destination},
              {"call_forwarding_timeout", e.call_forwarding_timeout},
              {"created_at", e.created_at},
              {"updated_at", e.updated_at}};
}

Response store_failure(const StoreStatus& status) {
  switch (status.kind) {
    case StoreStatus::Kind::Invalid: return Response::error(400, status.message);
    case StoreStatus::Kind::NotFound: return Response::error(404, status.message);
    case StoreStatus::Kind::Duplicate: return Response::error(409, status.message);
    default: return Response::error(503, status.message);
  }
}

// Copies the fields present in `body` onto `extension`; the first problem in
// `error` (never the password itself).
bool apply_fields(const json& body, Extension& extension, std::string& error) {
  auto text = [&](const char* name, std::string& target) {
    if (!body.contains(name)) return true;
    if (!body[name].is_string()) {
      error = std::string(name) + " must be a string";
      return false;
    }
    target = body[name].get<std::string>();
    return true;
  };
  auto flag = [&](const char* name, auto assign) {
    if (!body.contains(name)) return true;
    if (!body[name].is_boolean()) {
      error = std::string(name) + " must be true or false";
      return false;
    }
    assign(body[name].get<bool>());
    return true;
  };
  if (!text("display_name", extension.display_name) || !text("email", extension.email) ||
      !text("call_forwarding_mode", extension.call_forwarding_mode) ||
      !text("call_forwarding_destination", extension.call_forwarding_destination)) {
    return false;
  }
  if (!flag("enabled", [&](bool v) { extension.login_disabled = !v; }) ||
      !flag("allow_guest_calls", [&](bool v) { extension.allow_guest_calls = v; })) {
    return false;
  }
  if (body.contains("call_forwarding_timeout")) {
    if (!body["call_forwarding_timeout"].is_number_integer()) {
      error = "call_forwarding_timeout must be an integer";
      return false;
    }
    extension.call_forwarding_timeout = static_cast<int>(
        std::clamp<int64_t>(body["call_forwarding_timeout"].get<int64_t>(), -1, 1'000'000));
  }
  if (body.contains("password")) {
    if (!body["password"].is_string()) {
      error = "password must be a string";
      return false;
    }
    std::string password = body["password"].get<std::string>();
    if (password != kMask) extension.sip_password = std::move(password);
  }
  return true;
}

// Runs `work` with the store, or answers 503 when its database is down.
template <typename Work>
Response with_store(ApiContext& context, Work&& work) {
  std::string error;
  storage::ExtensionStore* store = context.extensions.get(error);
  if (!store) return Response::error(503, error);
  return work(*store);
}

bool matches(const Extension& extension, const std::string& search) {
  if (search.empty()) return true;
  return to_lower(extension.extension).find(search) != std::string::npos ||
         to_lower(extension.display_name).find(search) != std::string::npos;
}

void list(ApiContext& context, const Request& request, Responder respond) {
  auto paging = paging_of(request);
  if (!paging) {
    respond(Response::error(400, Paging::kProblem));
    return;
  }
  std::string search = to_lower(trim(request.query_value("search")));
  run_on(context.store_pool, [&context, search, page = paging->page, per_page = paging->per_page] {
    return with_store(context, [&](storage::ExtensionStore& store) {
      std::vector<Extension> all;
      if (auto status = store.list(all); !status.ok()) return store_failure(status);
      std::vector<const Extension*> found;
      for (const auto& extension : all) {
        if (matches(extension, search)) found.push_back(&extension);
      }
      json items = json::array();
      const size_t first = static_cast<size_t>(page - 1) * static_cast<size_t>(per_page);
      for (size_t i = first; i < found.size() && i < first + static_cast<size_t>(per_page); ++i) {
        items.push_back(extension_json(*found[i]));
      }
      return Response::json(200, json{{"items", items}, {"total", found.size()}, {"page", page}, {"per_page", per_page}});
    });
  }, std::move(respond));
}

void create(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  if (!body->is_object() || !(*body)["username"].is_string()) {
    respond(Response::error(400, "expected an object with a string username"));
    return;
  }
  Extension extension;
  extension.extension = (*body)["username"].get<std::string>();
  std::string error;
  if (!apply_fields(*body, extension, error)) {
    respond(Response::error(400, error));
    return;
  }
  if (extension.sip_password.empty()) {
    respond(Response::error(400, "a password is required (POST /api/extensions/generate-password makes one)"));
    return;
  }
  run_on(context.store_pool, [&context, extension] {
    return with_store(context, [&](storage::ExtensionStore& store) {
      if (auto status = store.add(extension); !status.ok()) return store_failure(status);
      Extension stored;
      if (auto status = store.find(extension.extension, stored); !status.ok()) return store_failure(status);
      return Response::json(201, extension_json(stored));
    });
  }, std::move(respond));
}

void show(ApiContext& context, const Request& request, Responder respond) {
  run_on(context.store_pool, [&context, name = request.param("username")] {
    return with_store(context, [&](storage::ExtensionStore& store) {
      Extension extension;
      if (auto status = store.find(name, extension); !status.ok()) return store_failure(status);
      return Response::json(200, extension_json(extension));
    });
  }, std::move(respond));
}

void replace(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  const std::string name = request.param("username");
  if (!body->is_object() || (body->contains("username") && (*body)["username"] != name)) {
    respond(Response::error(400, "expected an object; username, when given, must be the one in the path"));
    return;
  }
  run_on(context.store_pool, [&context, name, body = *body] {
    return with_store(context, [&](storage::ExtensionStore& store) {
      Extension extension;
      if (auto status = store.find(name, extension); !status.ok()) return store_failure(status);
      std::string error;
      if (!apply_fields(body, extension, error)) return Response::error(400, error);
      if (auto status = store.update(extension); !status.ok()) return store_failure(status);
      if (auto status = store.find(name, extension); !status.ok()) return store_failure(status);
      return Response::json(200, extension_json(extension));
    });
  }, std::move(respond));
}

void remove(ApiContext& context, const Request& request, Responder respond) {
  run_on(context.store_pool, [&context, name = request.param("username")] {
    return with_store(context, [&](storage::ExtensionStore& store) {
      if (auto status = store.remove(name); !status.ok()) return store_failure(status);
      return Response::json(200, json{{"deleted", name}});
    });
  }, std::move(respond));
}

void set_enabled(ApiContext& context, const Request& request, Responder respond, bool enabled) {
  run_on(context.store_pool, [&context, name = request.param("username"), enabled] {
    return with_store(context, [&](storage::ExtensionStore& store) {
      if (auto status = store.set_enabled(name, enabled); !status.ok()) return store_failure(status);
      Extension extension;
      if (auto status = store.find(name, extension); !status.ok()) return store_failure(status);
      return Response::json(200, extension_json(extension));
    });
  }, std::move(respond));
}

void generate_password(ApiContext&, const Request&, Responder respond) {
  respond(Response::json(200, json{{"password", random::alphanumeric(kGeneratedPasswordLength)}}));
}

}  // namespace

void add_extension_routes(Router& router, ApiContext& context) {
  auto bind = [&context](void (*handler)(ApiContext&, const Request&, Responder)) {
    return [&context, handler](const Request& r, Responder d) { handler(context, r, std::move(d)); };
  };
  router.add("GET", "/api/extensions", bind(list));
  router.add("POST", "/api/extensions", bind(create));
  router.add("POST", "/api/extensions/generate-password", bind(generate_password));
  router.add("GET", "/api/extensions/{username}", bind(show));
  router.add("PUT", "/api/extensions/{username}", bind(replace));
  router.add("DELETE", "/api/extensions/{username}", bind(remove));
  router.add("POST", "/api/extensions/{username}/enable",
             [&context](const Request& r, Responder d) { set_enabled(context, r, std::move(d), true); });
  router.add("POST", "/api/extensions/{username}/disable",
             [&context](const Request& r, Responder d) { set_enabled(context, r, std::move(d), false); });
}

}  // namespace cppbx::http_api
