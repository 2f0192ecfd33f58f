// Maps a method and a path to a route. Patterns are literal segments and
// {name} placeholders ("/api/extensions/{username}/enable"); a placeholder
// matches one non-empty segment, percent-decoded into Request::params. When
// several routes match, the one with more literal segments wins, so
// "/api/extensions/generate-password" is not taken for an extension named
// "generate-password". The route list is also what the docs list, one entry
// per method and pattern.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_api/api_message.hpp"

namespace cppbx::http_api {

enum class RouteAccess {
  Public,   // no session needed (login)
  Session,  // a valid session; state-changing methods also need the CSRF token
};

struct Route {
  std::string method;
  std::string pattern;
  RouteAccess access = RouteAccess::Session;
  Handler handler;
  std::vector<std::string> segments;  // pattern split on '/'
};

struct RouteMatch {
  const Route* route = nullptr;                // null: no route for this method and path
  std::map<std::string, std::string> params;
  std::vector<std::string> allowed_methods;    // when the path matched other methods only (405)
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler,
           RouteAccess access = RouteAccess::Session);
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// "a/b//c" -> {"a", "b", "", "c"} without the leading '/'.
std::vector<std::string> split_path(std::string_view path);
// %XX decoding of one path segment or query part; nullopt when malformed or
// when it decodes to a NUL byte. `plus_is_space` for query strings.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}; malformed pairs are skipped.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace cppbx::http_api
