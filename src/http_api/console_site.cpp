// See console_site.hpp.
#include "http_api/console_site.hpp"

#include <array>
#include <utility>

#include "common/strings.hpp"

namespace cppbx::http_api {
namespace {

void add_security_headers(Response& response) {
  response.headers.emplace_back("Content-Security-Policy", std::string(kConsoleContentSecurityPolicy));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "same-origin");
}

Response plain(int status, std::string_view text) {
  Response response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::string(text) + "\n";
  response.headers.emplace_back("Cache-Control", "no-store");
  add_security_headers(response);
  return response;
}

Response redirect(std::string location) {
  Response response = plain(302, "see " + location);
  response.headers.emplace_back("Location", std::move(location));
  return response;
}

std::string etag_of(const ConsoleAsset& asset) { return "\"" + std::string(asset.sha256.substr(0, 32)) + "\""; }

// If-None-Match: "*" or a list of (possibly weak) tags, one of them ours.
bool matches(std::string_view if_none_match, const std::string& etag) {
  if (trim(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    size_t comma = if_none_match.find(',');
    std::string_view tag = trim(if_none_match.substr(0, comma));
    if (tag.rfind("W/", 0) == 0) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view console_content_type(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  }};
  const size_t dot = path.rfind('.');
  if (dot != std::string_view::npos && path.find('/', dot) == std::string_view::npos) {
    std::string extension = to_lower(path.substr(dot));
    for (const auto& [suffix, type] : kTypes) {
      if (extension == suffix) return type;
    }
  }
  return "application/octet-stream";
}

ConsoleSite::ConsoleSite(std::string base_path, const std::vector<ConsoleAsset>& assets)
    : base_path_(std::move(base_path)), assets_(assets) {}

bool ConsoleSite::handles(std::string_view path) const {
  return path == "/" || path == base_path_ ||
         (path.size() > base_path_.size() && path.substr(0, base_path_.size()) == base_path_ &&
          path[base_path_.size()] == '/');
}

const ConsoleAsset* ConsoleSite::find(std::string_view relative) const {
  for (const auto& asset : assets_) {
    if (asset.path == relative) return &asset;
  }
  return nullptr;
}

Response ConsoleSite::serve(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response response = plain(405, "method not allowed");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  if (request.path == "/" || request.path == base_path_) return redirect(base_path_ + "/");
  std::string_view relative = std::string_view(request.path).substr(base_path_.size() + 1);
  if (relative.empty()) relative = "index.html";
  const ConsoleAsset* asset = find(relative);
  if (asset == nullptr) return plain(404, "not found");

  Response response;
  const std::string etag = etag_of(*asset);
  response.content_type = std::string(console_content_type(asset->path));
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("ETag", etag);
  add_security_headers(response);
  if (matches(request.header("if-none-match"), etag)) {
    response.status = 304;
  } else if (request.method == "GET") {
    response.body = std::string(asset->bytes);
  }
  return response;
}

}  // namespace cppbx::http_api
