// See http_backend.hpp for the design. The transfers themselves are the
// shared HTTP client's business; this file builds the request and interprets
// the answer.
#include "users/http_backend.hpp"

#include <algorithm>
#include <cctype>
#include <list>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "users/config_fields.hpp"

namespace cppbx::users {
namespace {

using Clock = std::chrono::steady_clock;

using http::printable;

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

HttpBackend::HttpBackend(HttpBackendOptions options)
    : options_(std::move(options)), log_url_(url_for_logs(options_.url)) {
  if (options_.cache_ttl.count() > 0) {
    cache_ = std::make_shared<Cache>(options_.cache_capacity, options_.cache_ttl, options_.miss_ttl);
  }
}

std::shared_ptr<HttpBackend> HttpBackend::create(HttpBackendOptions options, std::string* error) {
  std::shared_ptr<HttpBackend> backend(new HttpBackend(std::move(options)));
  http::HttpClientOptions client_options;
  client_options.max_in_flight = backend->options_.max_in_flight;
  client_options.max_body_bytes = backend->options_.max_body_bytes;
  client_options.name = "http user backend";
  backend->client_ = http::HttpClient::create(std::move(client_options), error);
  if (!backend->client_) return nullptr;
  return backend;
}

// Destroying the client answers every pending lookup with an error.
HttpBackend::~HttpBackend() = default;

http::HttpRequest HttpBackend::request_for(const LookupRequest& request) const {
  http::HttpRequest http_request;
  http_request.headers = options_.headers;
  http_request.headers.emplace_back("Accept", "application/json");
  http_request.timeout = options_.timeout;
  std::string params = form_encode({{options_.username_field, request.username},
                                    {options_.realm_field, request.realm}});
  if (options_.post) {
    http_request.method = "POST";
    http_request.url = options_.url;
    http_request.body = std::move(params);
  } else {
    http_request.url = url_with_query(options_.url, params);
  }
  return http_request;
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
  // The callback holds copies, never the backend: the last reference to the
  // backend may be dropped inside `done`.
  client_->submit(request_for(request), [log_url = log_url_, username = request.username,
                                         max_in_flight = options_.max_in_flight, warnings = warnings_,
                                         done = std::move(done)](http::HttpResponse response) {
    if (response.error == http::HttpError::Busy) {
      if (auto held_back = warnings->admit("busy")) {
        spdlog::warn("http user backend {}: lookup of '{}' refused: {} lookups already in flight"
                     " ({} more warnings held back)",
                     log_url, printable(username), max_in_flight, *held_back);
      }
      done(LookupResult::error("too many lookups in flight"));
      return;
    }
    LookupResult result = response.answered()
                              ? interpret_http_answer(response.status, response.body, username)
                              : LookupResult::error(response.detail);
    if (result.outcome == LookupOutcome::Error) {
      if (auto held_back = warnings->admit(result.detail)) {
        spdlog::warn("http user backend {}: lookup of '{}' failed: {} ({} more warnings held back)",
                     log_url, printable(username), result.detail, *held_back);
      }
    }
    done(std::move(result));
  });
}

size_t HttpBackend::in_flight() const { return client_->in_flight(); }

size_t HttpBackend::cached_entries() const { return cache_ ? cache_->size() : 0; }

// ---------------------------------------------------------------------------
// Configuration.

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
  if (!fields.header_table("headers", options.headers)) ok = false;
  if (auto ms = fields.integer("timeout_ms", 1, 600000, ok)) options.timeout = std::chrono::milliseconds(*ms);
  if (auto s = fields.integer("cache_ttl", 0, 86400, ok)) options.cache_ttl = std::chrono::seconds(*s);
  if (auto n = fields.integer("max_in_flight", 1, 100000, ok)) options.max_in_flight = static_cast<size_t>(*n);
  fields.warn_unknown_keys();
  if (!ok) return nullptr;
  std::string error;
  auto backend = HttpBackend::create(std::move(options), &error);
  if (!backend) diagnostics.error(cfg.where, cfg.key_path, error);
  return backend;
}

}  // namespace cppbx::users
