// See http_client.hpp for the design. The engine thread owns every CURL
// handle; other threads only queue work under a mutex and call
// curl_multi_wakeup (documented as safe from any thread).
#include "http_client/http_client.hpp"

#include <curl/curl.h>
#include <pthread.h>

#include <cctype>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace cppbx::http {
namespace {

void initialize_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

HttpError classify(CURLcode code) {
  switch (code) {
    case CURLE_OK: return HttpError::None;
    case CURLE_OPERATION_TIMEDOUT: return HttpError::Timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR: return HttpError::Connect;
    default: return HttpError::Failed;
  }
}

HttpResponse failure(HttpError error, std::string detail) {
  HttpResponse response;
  response.error = error;
  response.detail = std::move(detail);
  return response;
}

}  // namespace

std::string_view error_name(HttpError error) {
  switch (error) {
    case HttpError::None: return "none";
    case HttpError::Connect: return "connect";
    case HttpError::Timeout: return "timeout";
    case HttpError::BodyTooLarge: return "body too large";
    case HttpError::Busy: return "busy";
    case HttpError::Stopped: return "stopped";
    case HttpError::Failed: return "failed";
  }
  return "unknown";
}

std::string printable(std::string_view text, size_t limit) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > limit) out += "...";
  return out;
}

void percent_encode(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
}

std::string form_encode(const HeaderList& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    percent_encode(name, out);
    out += '=';
    percent_encode(value, out);
  }
  return out;
}

std::string url_with_query(std::string_view url, std::string_view params) {
  size_t hash = url.find('#');
  std::string_view base = url.substr(0, hash);
  std::string_view fragment = hash == std::string_view::npos ? std::string_view{} : url.substr(hash);
  std::string out(base);
  if (base.find('?') == std::string_view::npos) {
    out += '?';
  } else if (base.back() != '?' && base.back() != '&') {
    out += '&';
  }
  out += params;
  out += fragment;
  return out;
}

std::string url_for_logs(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return printable(url.substr(0, url.find_first_of("?#")), 200);
  size_t authority_begin = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority_begin);
  std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view path;
  if (authority_end != std::string_view::npos && url[authority_end] == '/') {
    size_t path_end = url.find_first_of("?#", authority_end);
    path = url.substr(authority_end, path_end - authority_end);
  }
  return printable(std::string(url.substr(0, authority_begin)) + std::string(authority) + std::string(path), 200);
}

// ---------------------------------------------------------------------------
// Engine: the libcurl multi loop on its own thread.

class HttpClient::Engine : public std::enable_shared_from_this<Engine> {
 public:
  explicit Engine(const HttpClientOptions& options) : options_(options) {}

  ~Engine() {
    for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  bool start(std::string* error) {
    initialize_curl_once();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) {
      if (error) *error = "cannot create a libcurl multi handle";
      return false;
    }
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
    return true;
  }

  // Safe from the engine thread itself (the last reference to the client may
  // be dropped inside a callback): then the thread is detached and finishes on
  // its own, keeping the engine alive until it does.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

  // false: refused (stopping or bound reached); the caller answers.
  bool submit(HttpRequest& request, HttpCallback& done, HttpError& refusal) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        refusal = HttpError::Stopped;
        return false;
      }
      if (in_flight_ >= options_.max_in_flight) {
        refusal = HttpError::Busy;
        return false;
      }
      ++in_flight_;
      queued_.push_back({std::move(request), std::move(done)});
    }
    curl_multi_wakeup(multi_);
    return true;
  }

  size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

 private:
  struct Queued {
    HttpRequest request;
    HttpCallback done;
  };
  struct Transfer {
    Engine* engine = nullptr;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    HttpRequest request;
    HttpCallback done;
    std::string body;
    bool body_too_large = false;

    ~Transfer() {
      if (headers != nullptr) curl_slist_free_all(headers);
    }
  };

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const size_t bytes = size * count;
    if (transfer->body.size() + bytes > transfer->engine->options_.max_body_bytes) {
      transfer->body_too_large = true;
      return 0;  // makes libcurl abort the transfer: stop reading past the limit
    }
    transfer->body.append(data, bytes);
    return bytes;
  }

  void run() {
    // Named for top/gdb; Linux allows 15 characters.
    pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
    std::deque<Queued> fresh;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;
        fresh.swap(queued_);
      }
      for (Queued& item : fresh) begin(std::move(item));
      fresh.clear();
      int running = 0;
      curl_multi_perform(multi_, &running);
      collect_finished();
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    abandon_everything();
  }

  CURL* take_handle() {
    if (idle_handles_.empty()) return curl_easy_init();
    CURL* easy = idle_handles_.back();
    idle_handles_.pop_back();
    curl_easy_reset(easy);
    return easy;
  }

  void release_handle(CURL* easy) {
    if (idle_handles_.size() < 64) {
      idle_handles_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  void begin(Queued item) {
    auto transfer = std::make_unique<Transfer>();
    transfer->engine = this;
    transfer->request = std::move(item.request);
    transfer->done = std::move(item.done);
    transfer->easy = take_handle();
    if (transfer->easy == nullptr || !configure(*transfer) ||
        curl_multi_add_handle(multi_, transfer->easy) != CURLM_OK) {
      if (transfer->easy != nullptr) curl_easy_cleanup(transfer->easy);
      transfer->easy = nullptr;
      complete(*transfer, failure(HttpError::Failed, "cannot start a request"));
      return;
    }
    CURL* key = transfer->easy;
    active_.emplace(key, std::move(transfer));
  }

  bool configure(Transfer& t) {
    CURL* easy = t.easy;
    const HttpRequest& r = t.request;
    for (const auto& [name, value] : r.headers) {
      t.headers = curl_slist_append(t.headers, (name + ": " + value).c_str());
    }
    t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip for POST
    bool ok = curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str()) == CURLE_OK;
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Engine::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    const bool with_body = !r.body.empty() || r.method == "POST" || r.method == "PUT";
    if (with_body) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.c_str());
      if (r.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    return ok;
  }

  void collect_finished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      auto it = active_.find(easy);
      if (it == active_.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, easy);
      HttpResponse response = outcome_of(*transfer, code);
      release_handle(easy);
      transfer->easy = nullptr;
      complete(*transfer, std::move(response));
    }
  }

  HttpResponse outcome_of(Transfer& t, CURLcode code) const {
    if (t.body_too_large) {
      return failure(HttpError::BodyTooLarge, "answer body larger than " +
                                                  std::to_string(options_.max_body_bytes / 1024) + " KiB");
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return failure(HttpError::Timeout,
                     "no answer within " + std::to_string(t.request.timeout.count()) + " ms");
    }
    if (code != CURLE_OK) {
      return failure(classify(code), std::string("request failed: ") + curl_easy_strerror(code));
    }
    HttpResponse response;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &response.status);
    response.body = std::move(t.body);
    return response;
  }

  // Frees the in-flight slot before the callback, so a callback may submit
  // another request at once.
  void complete(Transfer& t, HttpResponse response) {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    HttpCallback done = std::move(t.done);
    done(std::move(response));
  }

  void abandon_everything() {
    std::deque<Queued> queued;
    {
      std::lock_guard lock(mutex_);
      queued.swap(queued_);
    }
    for (Queued& item : queued) {
      Transfer t;
      t.request = std::move(item.request);
      t.done = std::move(item.done);
      complete(t, failure(HttpError::Stopped, "stopped"));
    }
    for (auto& [easy, transfer] : active_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
      transfer->easy = nullptr;
      complete(*transfer, failure(HttpError::Stopped, "stopped"));
    }
    active_.clear();
  }

  const HttpClientOptions options_;
  CURLM* multi_ = nullptr;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::deque<Queued> queued_;
  size_t in_flight_ = 0;  // queued + active
  bool stopping_ = false;

  // Touched by the engine thread only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> idle_handles_;
};

// ---------------------------------------------------------------------------

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {}

std::shared_ptr<HttpClient> HttpClient::create(HttpClientOptions options, std::string* error) {
  std::shared_ptr<HttpClient> client(new HttpClient(std::move(options)));
  client->engine_ = std::make_shared<Engine>(client->options_);
  if (!client->engine_->start(error)) return nullptr;
  return client;
}

HttpClient::~HttpClient() {
  if (engine_) engine_->stop();
}

void HttpClient::submit(HttpRequest request, HttpCallback done) {
  HttpError refusal = HttpError::None;
  if (engine_->submit(request, done, refusal)) return;
  if (refusal == HttpError::Busy) {
    done(failure(refusal, "too many requests in flight (" + std::to_string(options_.max_in_flight) + ")"));
  } else {
    done(failure(refusal, "stopped"));
  }
}

size_t HttpClient::in_flight() const { return engine_->in_flight(); }

}  // namespace cppbx::http
