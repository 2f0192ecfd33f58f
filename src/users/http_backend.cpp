// See http_backend.hpp for the design. The engine thread owns every CURL
// handle; other threads only queue work under a mutex and call
// curl_multi_wakeup (documented as safe from any thread).
#include "users/http_backend.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "users/config_fields.hpp"

namespace cppbx::users {
namespace {

using Clock = std::chrono::steady_clock;

// Service-controlled or client-controlled text in a log line: printable ASCII
// only, bounded, so nobody can forge log lines or flood them.
std::string printable(std::string_view text, size_t limit = 64) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > limit) out += "...";
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

// The error payload's reasons, as the reference protocol defines them.
std::optional<LookupResult> result_for_reason(std::string_view reason, std::string_view username) {
  auto is = [&](std::initializer_list<std::string_view> names) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view name) { return equals_ignoring_case(reason, name); });
  };
  if (is({"not_found", "not_user"})) return LookupResult::not_found();
  if (is({"invalid_password", "invalid_credentials"})) {
    return LookupResult::denied(403, "http service: " + printable(reason));
  }
  if (is({"disabled", "blocked"})) return LookupResult::denied(403, "http service: " + printable(reason));
  if (is({"spam", "spam_detected"})) {
    spdlog::warn("http user backend: user '{}' is flagged as spam by the service; refused with 403",
                 printable(username));
    return LookupResult::denied(403, "http service: " + printable(reason));
  }
  if (is({"payment_required"})) return LookupResult::denied(402, "http service: " + printable(reason));
  return std::nullopt;
}

// Optional string field: absent or null keeps `out` as it is.
bool read_string(const nlohmann::json& object, const char* name, std::string& out) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool read_bool(const nlohmann::json& object, const char* name, bool& out) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

LookupResult user_from_json(const nlohmann::json& json, std::string_view username) {
  if (!json.is_object()) return LookupResult::error("200 answer is not a JSON object");
  SipUser user;
  user.username = std::string(username);
  for (const char* name : {"username", "password", "realm", "display_name"}) {
    std::string* field = name == std::string_view("username")   ? &user.username
                         : name == std::string_view("password") ? &user.password
                         : name == std::string_view("realm")    ? &user.realm
                                                                : &user.display_name;
    if (!read_string(json, name, *field)) {
      return LookupResult::error(std::string("field '") + name + "' is not a string");
    }
  }
  if (!read_bool(json, "enabled", user.enabled)) {
    return LookupResult::error("field 'enabled' is not true or false");
  }
  if (!read_bool(json, "allow_guest_calls", user.allow_guest_calls)) {
    return LookupResult::error("field 'allow_guest_calls' is not true or false");
  }
  if (user.password.empty()) return LookupResult::error("200 answer without a password");
  return LookupResult::found(std::move(user));
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
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

void initialize_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

LookupResult interpret_http_answer(long status, std::string_view body, std::string_view username) {
  nlohmann::json json = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  const bool is_json = !json.is_discarded();
  if (status == 200) {
    if (!is_json) return LookupResult::error("200 answer with invalid JSON");
    return user_from_json(json, username);
  }
  if (status >= 200 && status < 300) {
    return LookupResult::error("unexpected HTTP status " + std::to_string(status));
  }
  std::optional<std::string> reason;
  if (is_json && json.is_object()) {
    auto it = json.find("reason");
    if (it != json.end() && it->is_string()) reason = it->get<std::string>();
  }
  if (reason) {
    if (auto known = result_for_reason(*reason, username)) return *known;
  }
  // FastAPI's HTTPException answers {"detail": ...}: a 404 means no such user.
  if (status == 404) return LookupResult::not_found();
  if (reason) {
    return LookupResult::error("unknown reason '" + printable(*reason) +
                               "' with HTTP status " + std::to_string(status));
  }
  if (!is_json) {
    return LookupResult::error("HTTP status " + std::to_string(status) +
                               (body.empty() ? " with an empty body" : " with a body that is not JSON"));
  }
  return LookupResult::error("HTTP status " + std::to_string(status) +
                             " without an error reason");
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
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
// Cache: a bounded LRU of found users and "not found" answers.

class HttpBackend::Cache {
 public:
  Cache(size_t capacity, std::chrono::seconds hit_ttl, std::chrono::seconds miss_ttl)
      : capacity_(std::max<size_t>(capacity, 1)), hit_ttl_(hit_ttl), miss_ttl_(std::min(miss_ttl, hit_ttl)) {}

  static std::string key(const LookupRequest& request) { return request.username + '\0' + request.realm; }

  std::optional<LookupResult> get(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (it->second->expires <= Clock::now()) {
      entries_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->result;
  }

  void put(const std::string& key, const LookupResult& result) {
    std::chrono::seconds ttl;
    if (result.outcome == LookupOutcome::Found) {
      ttl = hit_ttl_;
    } else if (result.outcome == LookupOutcome::NotFound) {
      ttl = miss_ttl_;
    } else {
      return;  // denials may be lifted and errors are transient
    }
    if (ttl.count() <= 0) return;
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      entries_.erase(it->second);
      index_.erase(it);
    }
    entries_.push_front({key, result, Clock::now() + ttl});
    index_[key] = entries_.begin();
    while (entries_.size() > capacity_) {
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::string key;
    LookupResult result;
    Clock::time_point expires;
  };
  const size_t capacity_;
  const std::chrono::seconds hit_ttl_;
  const std::chrono::seconds miss_ttl_;
  mutable std::mutex mutex_;
  std::list<Entry> entries_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// ---------------------------------------------------------------------------
// Engine: the libcurl multi loop on its own thread.

class HttpBackend::Engine : public std::enable_shared_from_this<Engine> {
 public:
  explicit Engine(const HttpBackendOptions& options) : options_(options), log_url_(url_for_logs(options.url)) {}

  ~Engine() {
    for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
  }

  bool start(std::string* error) {
    initialize_curl_once();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) {
      if (error) *error = "cannot create a libcurl multi handle";
      return false;
    }
    for (const auto& [name, value] : options_.headers) {
      headers_ = curl_slist_append(headers_, (name + ": " + value).c_str());
    }
    headers_ = curl_slist_append(headers_, "Accept: application/json");
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip for POST
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
    return true;
  }

  // Safe from the engine thread itself (the last reference to the backend may
  // be dropped inside a lookup callback): then the thread is detached and
  // finishes on its own, keeping the engine alive until it does.
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

  bool submit(LookupRequest request, LookupCallback done) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || in_flight_ >= options_.max_in_flight) return false;
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

  const std::string& log_url() const { return log_url_; }

 private:
  struct Queued {
    LookupRequest request;
    LookupCallback done;
  };
  struct Transfer {
    Engine* engine = nullptr;
    CURL* easy = nullptr;
    LookupRequest request;
    LookupCallback done;
    std::string url;
    std::string form;
    std::string body;
    bool body_too_large = false;
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
    std::string params = form_encode({{options_.username_field, transfer->request.username},
                                      {options_.realm_field, transfer->request.realm}});
    if (options_.post) {
      transfer->url = options_.url;
      transfer->form = std::move(params);
    } else {
      transfer->url = url_with_query(options_.url, params);
    }
    transfer->easy = take_handle();
    if (transfer->easy == nullptr || !configure(*transfer) ||
        curl_multi_add_handle(multi_, transfer->easy) != CURLM_OK) {
      if (transfer->easy != nullptr) curl_easy_cleanup(transfer->easy);
      transfer->easy = nullptr;
      complete(*transfer, LookupResult::error("cannot start a request"));
      return;
    }
    CURL* key = transfer->easy;
    active_.emplace(key, std::move(transfer));
  }

  bool configure(Transfer& t) {
    CURL* easy = t.easy;
    bool ok = curl_easy_setopt(easy, CURLOPT_URL, t.url.c_str()) == CURLE_OK;
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Engine::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    if (options_.post) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.form.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t.form.c_str());
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
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
      LookupResult result = outcome_of(*transfer, code);
      release_handle(easy);
      transfer->easy = nullptr;
      complete(*transfer, std::move(result));
    }
  }

  LookupResult outcome_of(const Transfer& t, CURLcode code) const {
    if (t.body_too_large) {
      return LookupResult::error("answer body larger than " +
                                 std::to_string(options_.max_body_bytes / 1024) + " KiB");
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return LookupResult::error("no answer within " +
                                 std::to_string(options_.timeout.count()) + " ms");
    }
    if (code != CURLE_OK) {
      return LookupResult::error(std::string("request failed: ") + curl_easy_strerror(code));
    }
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    return interpret_http_answer(status, t.body, t.request.username);
  }

  // Frees the in-flight slot before the callback, so a callback may start
  // another lookup at once.
  void complete(Transfer& t, LookupResult result) {
    if (result.outcome == LookupOutcome::Error) {
      spdlog::warn("http user backend {}: lookup of '{}' failed: {}", log_url_,
                   printable(t.request.username), result.detail);
    }
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    LookupCallback done = std::move(t.done);
    done(std::move(result));
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
      complete(t, LookupResult::error("stopped"));
    }
    for (auto& [easy, transfer] : active_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
      transfer->easy = nullptr;
      complete(*transfer, LookupResult::error("stopped"));
    }
    active_.clear();
  }

  const HttpBackendOptions options_;
  const std::string log_url_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
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

HttpBackend::HttpBackend(HttpBackendOptions options) : options_(std::move(options)) {
  if (options_.cache_ttl.count() > 0) {
    cache_ = std::make_shared<Cache>(options_.cache_capacity, options_.cache_ttl, options_.miss_ttl);
  }
}

std::shared_ptr<HttpBackend> HttpBackend::create(HttpBackendOptions options, std::string* error) {
  std::shared_ptr<HttpBackend> backend(new HttpBackend(std::move(options)));
  backend->engine_ = std::make_shared<Engine>(backend->options_);
  if (!backend->engine_->start(error)) return nullptr;
  return backend;
}

HttpBackend::~HttpBackend() {
  if (engine_) engine_->stop();
}

void HttpBackend::lookup(const LookupRequest& request, LookupCallback done) {
  std::string key;
  if (cache_) {
    key = Cache::key(request);
    if (auto cached = cache_->get(key)) {
      done(std::move(*cached));
      return;
    }
    done = [cache = cache_, key, done = std::move(done)](LookupResult result) {
      cache->put(key, result);
      done(std::move(result));
    };
  }
  if (!engine_->submit(request, done)) {
    spdlog::warn("http user backend {}: lookup of '{}' refused: {} lookups already in flight",
                 engine_->log_url(), printable(request.username), options_.max_in_flight);
    done(LookupResult::error("too many lookups in flight"));
  }
}

size_t HttpBackend::in_flight() const { return engine_->in_flight(); }

size_t HttpBackend::cached_entries() const { return cache_ ? cache_->size() : 0; }

// ---------------------------------------------------------------------------
// Configuration.

namespace {

std::optional<int64_t> bounded_integer(ConfigFields& fields, std::string_view key, int64_t min,
                                       int64_t max, bool& ok) {
  const toml::node* value = fields.node(key);
  if (value == nullptr) return std::nullopt;
  const auto* number = value->as_integer();
  if (number == nullptr || number->get() < min || number->get() > max) {
    fields.error(value, key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    ok = false;
    return std::nullopt;
  }
  return number->get();
}

bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool valid_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

void read_headers(ConfigFields& fields, HttpBackendOptions& options, bool& ok) {
  const toml::node* node = fields.node("headers");
  if (node == nullptr) return;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    fields.error(node, "headers", "must be a table of header names and string values");
    ok = false;
    return;
  }
  for (const auto& [name, value] : *table) {
    const auto* text = value.as_string();
    // Never echo the value: it is usually an API key.
    if (!valid_header_name(name.str())) {
      fields.error(&value, "headers", "'" + printable(name.str()) + "' is not a valid header name");
      ok = false;
    } else if (text == nullptr || !valid_header_value(text->get())) {
      fields.error(&value, "headers", "value of '" + std::string(name.str()) +
                                          "' must be a string without line breaks");
      ok = false;
    } else {
      options.headers.emplace_back(std::string(name.str()), text->get());
    }
  }
}

}  // namespace

std::shared_ptr<UserBackend> make_http_backend(const config::UserBackendConfig& cfg,
                                               config::Diagnostics& diagnostics) {
  ConfigFields fields(cfg.table, cfg.key_path, cfg.where, diagnostics);
  HttpBackendOptions options;
  bool ok = true;
  if (auto url = fields.string("url", true)) {
    if (!starts_with_ignoring_case(*url, "http://") && !starts_with_ignoring_case(*url, "https://")) {
      fields.error(fields.node("url"), "url", "must start with http:// or https://");
      ok = false;
    }
    options.url = *url;
  } else {
    ok = false;
  }
  if (const toml::node* method_node = fields.node("method")) {
    auto method = fields.string("method", false);
    if (method && equals_ignoring_case(*method, "POST")) {
      options.post = true;
    } else if (!method || !equals_ignoring_case(*method, "GET")) {
      if (method) fields.error(method_node, "method", "must be \"GET\" or \"POST\"");
      ok = false;
    }
  }
  for (auto [key, target] : {std::pair{"username_field", &options.username_field},
                             std::pair{"realm_field", &options.realm_field}}) {
    const toml::node* node = fields.node(key);
    if (node == nullptr) continue;
    auto value = fields.string(key, false);
    if (!value || value->empty()) {
      if (value) fields.error(node, key, "must not be empty");
      ok = false;
      continue;
    }
    *target = *value;
  }
  read_headers(fields, options, ok);
  if (auto ms = bounded_integer(fields, "timeout_ms", 1, 600000, ok)) options.timeout = std::chrono::milliseconds(*ms);
  if (auto s = bounded_integer(fields, "cache_ttl", 0, 86400, ok)) options.cache_ttl = std::chrono::seconds(*s);
  if (auto n = bounded_integer(fields, "max_in_flight", 1, 100000, ok)) options.max_in_flight = static_cast<size_t>(*n);
  fields.warn_unknown_keys();
  if (!ok) return nullptr;
  std::string error;
  auto backend = HttpBackend::create(std::move(options), &error);
  if (!backend) diagnostics.error(cfg.where, cfg.key_path, error);
  return backend;
}

}  // namespace cppbx::users
