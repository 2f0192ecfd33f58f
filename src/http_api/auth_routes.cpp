// POST /api/login, POST /api/logout, GET /api/session.
//
// Login order: the throttle first (a throttled address costs no argon2id
// work), then the password check on a store worker, then the session. Each
// login is logged with the name (printable characters only), the source
// address and the outcome; the password never reaches a log line.
#include <spdlog/spdlog.h>

#include "http_api/api_context.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

// Ends an admitted attempt exactly once: as its outcome when the check ran,
// as abandoned when the job was dropped (pool full, timed out before it
// started, shutting down).
class LoginAttempt {
 public:
  LoginAttempt(LoginThrottle& throttle, std::string address) : throttle_(throttle), address_(std::move(address)) {}
  ~LoginAttempt() {
    if (!finished_) throttle_.finish(address_, LoginThrottle::Outcome::Abandoned, LoginThrottle::Clock::now());
  }
  void finish(LoginThrottle::Outcome outcome) {
    finished_ = true;
    throttle_.finish(address_, outcome, LoginThrottle::Clock::now());
  }

 private:
  LoginThrottle& throttle_;
  std::string address_;
  bool finished_ = false;
};

Response throttled(const std::string& username, const std::string& address, std::chrono::seconds wait) {
  spdlog::warn("http api: login user={} from={} outcome=throttled retry_after={}s", http::printable(username),
               address, wait.count());
  Response response = Response::json(429, json{{"error", "too many failed logins from this address; retry later"},
                                              {"retry_after", wait.count()}});
  response.headers.emplace_back("Retry-After", std::to_string(wait.count()));
  return response;
}

Response check_login(ApiContext& context, const std::string& username, const std::string& password,
                     const std::string& address, bool secure, LoginAttempt& attempt) {
  std::string detail;
  storage::AdminVerdict verdict = context.admins.verify(username, password, detail);
  const std::string shown = http::printable(username);
  if (verdict == storage::AdminVerdict::DatabaseError) {
    attempt.finish(LoginThrottle::Outcome::Abandoned);
    spdlog::error("http api: login user={} from={} outcome=error: {}", shown, address, detail);
    return Response::error(503, "the administrator store is unavailable");
  }
  if (verdict == storage::AdminVerdict::Refused) {
    attempt.finish(LoginThrottle::Outcome::Failed);
    spdlog::warn("http api: login user={} from={} outcome=refused", shown, address);
    return Response::error(401, "wrong username or password");
  }
  attempt.finish(LoginThrottle::Outcome::Succeeded);
  SessionView session = context.sessions.create(username);
  spdlog::info("http api: login user={} from={} outcome=accepted", shown, address);
  Response response = Response::json(200, json{{"username", username}, {"csrf_token", session.csrf_token}});
  response.headers.emplace_back(
      "Set-Cookie", session_cookie(session.id, secure || context.config()->console.secure_cookie,
                                   context.sessions.options().idle_timeout));
  return response;
}

void login(ApiContext& context, const Request& request, Responder respond) {
  auto body = json_body(request, respond);
  if (!body) return;
  if (!body->is_object() || !(*body)["username"].is_string() || !(*body)["password"].is_string()) {
    respond(Response::error(400, "expected {\"username\": \"...\", \"password\": \"...\"}"));
    return;
  }
  std::string username = (*body)["username"].get<std::string>();
  std::string password = (*body)["password"].get<std::string>();
  const std::string address = request.remote_address;
  auto wait = context.throttle.admit(address, LoginThrottle::Clock::now());
  if (wait.count() > 0) {
    respond(throttled(username, address, wait));
    return;
  }
  auto attempt = std::make_shared<LoginAttempt>(context.throttle, address);
  run_on(context.store_pool,
         [&context, username = std::move(username), password = std::move(password), address,
          secure = request.secure, attempt] {
           return check_login(context, username, password, address, secure, *attempt);
         },
         std::move(respond));
}

void logout(ApiContext& context, const Request& request, Responder respond) {
  context.sessions.remove(request.session->id);
  spdlog::info("http api: logout user={} from={}", http::printable(request.session->username),
               request.remote_address);
  Response response = Response::json(200, json{{"logged_out", true}});
  response.headers.emplace_back("Set-Cookie", expired_session_cookie(request.secure || context.config()->console.secure_cookie));
  respond(std::move(response));
}

void who_am_i(ApiContext& context, const Request& request, Responder respond) {
  respond(Response::json(200, json{{"username", request.session->username},
                                   {"csrf_token", request.session->csrf_token},
                                   {"idle_timeout_seconds", context.sessions.options().idle_timeout.count()}}));
}

}  // namespace

std::optional<json> json_body(const Request& request, const Responder& respond) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    respond(Response::error(400, "the body is not valid JSON"));
    return std::nullopt;
  }
  return body;
}

void run_on(ResponsePool& pool, std::function<Response()> work, Responder respond) {
  pool.submit(std::move(work), std::move(respond));
}

void add_auth_routes(Router& router, ApiContext& context) {
  router.add("POST", "/api/login", [&context](const Request& r, Responder d) { login(context, r, std::move(d)); },
             RouteAccess::Public);
  router.add("POST", "/api/logout", [&context](const Request& r, Responder d) { logout(context, r, std::move(d)); });
  router.add("GET", "/api/session", [&context](const Request& r, Responder d) { who_am_i(context, r, std::move(d)); });
}

}  // namespace cppbx::http_api
