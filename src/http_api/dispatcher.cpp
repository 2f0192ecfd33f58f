// See dispatcher.hpp.
#include "http_api/dispatcher.hpp"

#include <atomic>
#include <memory>

#include <spdlog/spdlog.h>

#include "common/strings.hpp"

namespace cppbx::http_api {
namespace {

Responder once(Responder respond) {
  auto answered = std::make_shared<std::atomic<bool>>(false);
  return [answered, respond = std::move(respond)](Response response) {
    if (!answered->exchange(true)) respond(std::move(response));
  };
}

bool is_api_path(const std::string& path) { return path == "/api" || path.rfind("/api/", 0) == 0; }

std::string joined(const std::vector<std::string>& methods) {
  std::string text;
  for (const auto& method : methods) text += text.empty() ? method : ", " + method;
  return text;
}

}  // namespace

void Dispatcher::dispatch(Request request, Responder respond_once_or_more) const {
  Responder respond = once(std::move(respond_once_or_more));
  if (!is_api_path(request.path)) {
    respond(console_.handles(request.path) ? console_.serve(request) : Response::error(404, "not found"));
    return;
  }
  RouteMatch match = router_.match(request.method, request.path);
  const bool is_public = match.route && match.route->access == RouteAccess::Public;
  if (!is_public) {
    auto id = cookie_value(request.header("cookie"), kSessionCookie);
    request.session = id ? sessions_.touch(*id) : std::nullopt;
    if (!request.session) {
      respond(Response::error(401, "login required"));
      return;
    }
  }
  if (!match.route) {
    if (match.allowed_methods.empty()) {
      respond(Response::error(404, "no such API route"));
    } else {
      Response response = Response::error(405, "method not allowed");
      response.headers.emplace_back("Allow", joined(match.allowed_methods));
      respond(std::move(response));
    }
    return;
  }
  if (!is_public && is_state_changing(request.method) &&
      !same_token(request.header(kCsrfHeader), request.session->csrf_token)) {
    respond(Response::error(403, "missing or wrong X-CSRF-Token"));
    return;
  }
  if (is_state_changing(request.method) && !request.body.empty() &&
      !istarts_with(request.header("content-type"), "application/json")) {
    respond(Response::error(415, "the body must be application/json"));
    return;
  }
  request.params = std::move(match.params);
  try {
    match.route->handler(request, respond);
  } catch (const std::exception& e) {
    spdlog::error("http api: {} {} failed: {}", request.method, match.route->pattern, e.what());
    respond(Response::error(500, "internal error"));
  }
}

}  // namespace cppbx::http_api
