// See router.hpp. Routes are few (a few dozen), so matching is a linear scan
// over pre-split patterns: simpler than a trie and fast enough for an admin
// API.
#include "http_api/router.hpp"

#include <algorithm>

#include "common/url_parts.hpp"

namespace cppbx::http_api {
namespace {

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Literal segment count when `route` matches `segments`, else -1.
int match_score(const Route& route, const std::vector<std::string>& segments,
                std::map<std::string, std::string>& params) {
  if (route.segments.size() != segments.size()) return -1;
  int literals = 0;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& expected = route.segments[i];
    if (is_placeholder(expected)) {
      auto decoded = percent_decode(segments[i], false);
      if (!decoded || decoded->empty()) return -1;
      found[expected.substr(1, expected.size() - 2)] = *decoded;
    } else if (expected == segments[i]) {
      ++literals;
    } else {
      return -1;
    }
  }
  params = std::move(found);
  return literals;
}

}  // namespace

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    segments.emplace_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = url::hex_value(text[i + 1]);
      int low = url::hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> values;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string_view pair = query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!pair.empty()) {
      size_t equals = pair.find('=');
      auto name = percent_decode(pair.substr(0, equals), true);
      auto value = percent_decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
      if (name && value && !name->empty()) values[*name] = *value;
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return values;
}

void Router::add(std::string method, std::string pattern, Handler handler, RouteAccess access) {
  Route route{std::move(method), std::move(pattern), access, std::move(handler), {}};
  route.segments = split_path(route.pattern);
  routes_.push_back(std::move(route));
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  const std::vector<std::string> segments = split_path(path);
  RouteMatch best;
  int best_score = -1;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    int score = match_score(route, segments, params);
    if (score < 0) continue;
    if (route.method != method) {
      if (std::find(best.allowed_methods.begin(), best.allowed_methods.end(), route.method) ==
          best.allowed_methods.end()) {
        best.allowed_methods.push_back(route.method);
      }
      continue;
    }
    if (score > best_score) {
      best_score = score;
      best.route = &route;
      best.params = std::move(params);
    }
  }
  if (best.route) best.allowed_methods.clear();
  return best;
}

}  // namespace cppbx::http_api
