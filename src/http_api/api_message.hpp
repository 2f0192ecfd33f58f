// The request and response as the API's routes see them: plain structs with
// no Boost.Beast in sight, so the router, the session rules and every route
// can be tested without a socket. http_server.cpp converts to and from Beast.
//
// A handler answers through a Responder exactly once, from any thread (a
// worker of a blocking pool, the HTTP client's thread): the server posts the
// answer back to the connection's own thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cppbx::http_api {

// Who made the request, once the dispatcher found a valid session.
struct SessionView {
  std::string id;
  std::string username;
  std::string csrf_token;
};

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // without the query, still percent-encoded
  std::map<std::string, std::string> query;    // decoded names and values
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;                  // the peer's IP address
  bool secure = false;                         // came over HTTPS
  // Filled by the dispatcher:
  std::map<std::string, std::string> params;   // {name} segments of the route, decoded
  std::optional<SessionView> session;

  // The header's value, empty when absent (`name` in lower case).
  std::string header(std::string_view name) const {
    auto found = headers.find(std::string(name));
    return found == headers.end() ? std::string() : found->second;
  }
  std::string param(std::string_view name) const {
    auto found = params.find(std::string(name));
    return found == params.end() ? std::string() : found->second;
  }
  std::string query_value(std::string_view name) const {
    auto found = query.find(std::string(name));
    return found == query.end() ? std::string() : found->second;
  }
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Set-Cookie, Retry-After)

  static Response json(int status, const nlohmann::json& value) {
    Response response;
    response.status = status;
    // Invalid UTF-8 from a store or a service is replaced, never thrown on.
    response.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return response;
  }
  // {"error": message}; `message` must hold no secret.
  static Response error(int status, std::string_view message) {
    return json(status, nlohmann::json{{"error", std::string(message)}});
  }
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
};

using Responder = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Responder)>;

}  // namespace cppbx::http_api
