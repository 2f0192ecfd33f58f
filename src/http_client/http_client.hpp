// A small asynchronous HTTP client shared by everything in cppbx that talks
// to web services (the http user backend, the locator webhook, the http
// locator).
//
// Design decisions:
// - Never blocks the caller: submit() queues the request under a mutex and
//   wakes one dedicated thread that drives libcurl's multi interface
//   (curl_multi_poll, woken by curl_multi_wakeup). That thread owns every
//   CURL handle; the multi handle's connection cache keeps connections alive
//   between requests, so a busy PBX does not pay a TCP handshake each time.
// - Bounded: at most `max_in_flight` requests are queued or running; one more
//   is answered inline with HttpError::Busy. Each request has its own
//   timeout, and an answer body beyond `max_body_bytes` aborts the transfer
//   (HttpError::BodyTooLarge) so a hostile service cannot fill memory.
// - Every callback runs exactly once: on the client's thread, or inline when
//   the request is refused. Destroying the client answers everything still
//   pending with HttpError::Stopped. The last reference may be dropped inside
//   a callback (the thread then detaches and finishes on its own).
// - Errors are classified (connect, timeout, ...) so callers can decide what
//   to retry; `detail` is safe to log (no header values, no query string).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cppbx::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE, ...
  std::string url;
  HeaderList headers;          // sent as given; values never logged
  std::string body;            // sent when not empty or when the method is POST/PUT
  std::chrono::milliseconds timeout{5000};
};

enum class HttpError {
  None,          // an HTTP answer arrived (any status)
  Connect,       // name resolution or TCP/TLS connection failed
  Timeout,       // no complete answer within the request's timeout
  BodyTooLarge,  // answer body beyond max_body_bytes
  Busy,          // refused: max_in_flight requests already pending
  Stopped,       // the client was destroyed before an answer
  Failed,        // any other transfer error (dropped connection, bad URL, ...)
};

std::string_view error_name(HttpError error);

struct HttpResponse {
  HttpError error = HttpError::None;
  long status = 0;     // HTTP status when error == None
  std::string body;
  std::string detail;  // why it failed, safe to log; empty on success

  bool answered() const { return error == HttpError::None; }
};

using HttpCallback = std::function<void(HttpResponse)>;

struct HttpClientOptions {
  size_t max_in_flight = 256;
  size_t max_body_bytes = 64 * 1024;
  std::string name = "http client";  // the thread's name (first 15 characters)
};

class HttpClient {
 public:
  // nullptr and a reason in `error` when libcurl cannot be set up.
  static std::shared_ptr<HttpClient> create(HttpClientOptions options, std::string* error = nullptr);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void submit(HttpRequest request, HttpCallback done);
  size_t in_flight() const;
  const HttpClientOptions& options() const { return options_; }

 private:
  class Engine;
  explicit HttpClient(HttpClientOptions options);
  HttpClientOptions options_;
  std::shared_ptr<Engine> engine_;  // shared with its thread, which may outlive us
};

// "a=1&b=2" with each name and value percent-encoded (RFC 3986 unreserved
// characters kept as they are).
std::string form_encode(const HeaderList& fields);
void percent_encode(std::string_view text, std::string& out);
// `url` with `params` appended as a query ('?' or '&' as the URL needs; a
// fragment stays at the end).
std::string url_with_query(std::string_view url, std::string_view params);
// scheme://host[:port]/path, without user info, query or fragment: safe to log.
std::string url_for_logs(std::string_view url);
// Service-controlled text for a log line: printable ASCII only, bounded.
std::string printable(std::string_view text, size_t limit = 64);

}  // namespace cppbx::http
