// Serves the web console's embedded files under [console] base_path.
//
// Design decisions:
// - Public: the pages are the same for everyone and hold no data; the data
//   comes from /api, which needs a session. So no session check here.
// - `/` and `base_path` redirect to `base_path/` (index.html), so the page's
//   relative URLs ("app.css", "js/app.js") resolve under any base_path. The
//   console routes with the URL's #fragment, so no other path falls back
//   to index.html: an unknown file is a plain 404.
// - File names carry no version, so every answer is `Cache-Control:
//   no-cache` with an ETag (the file's build-time SHA-256): the browser
//   revalidates and gets 304 while the file is unchanged, and never runs a
//   stale script after an upgrade.
// - Security headers on every answer: a Content-Security-Policy of 'self'
//   only (no inline script or style, no framing), nosniff, DENY framing,
//   same-origin referrers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http_api/api_message.hpp"
#include "http_api/console_assets.hpp"

namespace cppbx::http_api {

inline constexpr std::string_view kConsoleContentSecurityPolicy =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

class ConsoleSite {
 public:
  // `base_path` as validated by the config loader ("/console").
  explicit ConsoleSite(std::string base_path, const std::vector<ConsoleAsset>& assets = console_assets());

  // True for "/", base_path and anything under base_path/.
  bool handles(std::string_view path) const;
  // The answer for a request that handles() accepted (GET or HEAD).
  Response serve(const Request& request) const;
  const std::string& base_path() const { return base_path_; }

 private:
  const ConsoleAsset* find(std::string_view relative) const;

  std::string base_path_;
  const std::vector<ConsoleAsset>& assets_;
};

// "text/html; charset=utf-8" for "index.html", by the file's extension;
// application/octet-stream for one not known.
std::string_view console_content_type(std::string_view path);

}  // namespace cppbx::http_api
