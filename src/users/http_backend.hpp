// Users from a web service (`type = "http"`): each lookup is one HTTP request
// (GET with a query string, or POST with a form body) answered by a JSON
// SipUser, or by a JSON error payload whose `reason` says why not. The
// protocol is described in docs/user-backends.md.
//
// Design decisions:
// - Never blocks the caller: requests go through the shared asynchronous
//   HTTP client (http_client/http_client.hpp: libcurl multi on its own
//   thread, keep-alive connections), one client per backend.
// - Two bounds turn an outage into quick 503s rather than a queue: at most
//   `max_in_flight` lookups are queued or running (one more is refused
//   inline), and each transfer is abandoned after `timeout_ms`.
// - The answer is interpreted by a pure function (interpret_http_answer), so
//   every status/payload combination is testable without a server.
// - Optional cache (`cache_ttl` > 0): found users for cache_ttl seconds,
//   "not found" for a short fixed time (so a burst of REGISTERs from an
//   unknown user does not hammer the service, yet a user created a moment
//   later can register soon); denials and errors are never cached. The cache
//   is a bounded LRU.
// - Logs name the URL without its query, user info or header values, and
//   never a password: API keys travel in headers or the query string.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log_throttle.hpp"
#include "config/config.hpp"
#include "http_client/http_client.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

struct HttpBackendOptions {
  std::string url;
  bool post = false;  // GET when false
  std::string username_field = "username";
  std::string realm_field = "realm";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{2000};
  std::chrono::seconds cache_ttl{0};  // 0: no cache
  std::chrono::seconds miss_ttl{5};   // how long a "not found" is cached (when caching)
  size_t cache_capacity = 10000;
  size_t max_in_flight = 256;
  size_t max_body_bytes = 64 * 1024;
};

// What a status code and body mean under the protocol. `username` is only
// used in log lines (spam warnings).
LookupResult interpret_http_answer(long status, std::string_view body, std::string_view username);

// URL helpers, shared with the other HTTP users (see http_client.hpp).
using http::form_encode;
using http::url_for_logs;
using http::url_with_query;

class HttpBackend final : public UserBackend {
 public:
  // nullptr and a reason in `error` when libcurl cannot be set up.
  static std::shared_ptr<HttpBackend> create(HttpBackendOptions options, std::string* error);
  // Answers every lookup still pending with an error, then stops the thread.
  ~HttpBackend() override;
  HttpBackend(const HttpBackend&) = delete;
  HttpBackend& operator=(const HttpBackend&) = delete;

  std::string_view type() const override { return "http"; }
  void lookup(const LookupRequest& request, LookupCallback done) override;

  size_t in_flight() const;
  size_t cached_entries() const;
  const HttpBackendOptions& options() const { return options_; }

 private:
  class Cache;
  explicit HttpBackend(HttpBackendOptions options);
  http::HttpRequest request_for(const LookupRequest& request) const;

  HttpBackendOptions options_;
  std::string log_url_;
  std::shared_ptr<Cache> cache_;  // null when cache_ttl is 0
  std::shared_ptr<http::HttpClient> client_;
  // A dead or overloaded service fails every lookup: one warning per cause
  // and interval.
  std::shared_ptr<log::ThrottleByKey> warnings_ = std::make_shared<log::ThrottleByKey>();
};

// Reads url, method, username_field, realm_field, headers, timeout_ms,
// cache_ttl and max_in_flight; problems are errors on the entry's keys.
std::shared_ptr<UserBackend> make_http_backend(const config::UserBackendConfig& cfg,
                                               config::Diagnostics& diagnostics);

}  // namespace cppbx::users
