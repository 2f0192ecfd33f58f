// See extension_backend.hpp. The cache is one mutex over a list + hash map:
// a lookup holds it for a hash probe and a splice, far shorter than anything
// else on the request path, so sharding it would buy nothing measurable.
#include "users/extension_backend.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/database_url.hpp"
#include "users/config_fields.hpp"

namespace cppbx::users {

// ---------------------------------------------------------------------------
// ExtensionCache

ExtensionCache::ExtensionCache(size_t capacity, std::chrono::steady_clock::duration ttl, Clock clock)
    : capacity_(capacity), ttl_(ttl), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

std::optional<ExtensionCache::Answer> ExtensionCache::get(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(name);
  if (found == index_.end()) return std::nullopt;
  if (clock_() >= found->second->expires) {
    order_.erase(found->second);
    index_.erase(found);
    return std::nullopt;
  }
  order_.splice(order_.begin(), order_, found->second);
  return found->second->answer;
}

uint64_t ExtensionCache::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void ExtensionCache::put(const std::string& name, Answer answer, uint64_t generation_at_query) {
  if (capacity_ == 0 || ttl_ <= std::chrono::steady_clock::duration::zero()) return;
  std::lock_guard lock(mutex_);
  if (generation_at_query != generation_) return;  // changed while we queried
  auto expires = clock_() + ttl_;
  if (auto found = index_.find(name); found != index_.end()) {
    found->second->answer = std::move(answer);
    found->second->expires = expires;
    order_.splice(order_.begin(), order_, found->second);
    return;
  }
  order_.push_front({name, std::move(answer), expires});
  index_.emplace(name, order_.begin());
  if (order_.size() > capacity_) {
    index_.erase(order_.back().name);
    order_.pop_back();
  }
}

void ExtensionCache::invalidate(const std::string& name) {
  std::lock_guard lock(mutex_);
  ++generation_;
  if (auto found = index_.find(name); found != index_.end()) {
    order_.erase(found->second);
    index_.erase(found);
  }
}

void ExtensionCache::clear() {
  std::lock_guard lock(mutex_);
  ++generation_;
  order_.clear();
  index_.clear();
}

size_t ExtensionCache::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

// ---------------------------------------------------------------------------
// ExtensionBackend

namespace {

BlockingPool::Options pool_options(const ExtensionBackend::Options& options) {
  BlockingPool::Options pool;
  pool.name = "extension backend";
  pool.threads = options.threads;
  pool.max_in_flight = options.max_in_flight;
  pool.timeout = options.timeout;
  return pool;
}

SipUser to_sip_user(const storage::Extension& extension) {
  SipUser user;
  user.username = extension.extension;
  user.password = extension.sip_password;
  user.display_name = extension.display_name;
  user.enabled = !extension.login_disabled;  // found but refused (403) by the auth module
  user.allow_guest_calls = extension.allow_guest_calls;
  return user;  // no realm: an extension is valid in every realm
}

}  // namespace

ExtensionBackend::ExtensionBackend(Options options)
    : options_(std::move(options)),
      cache_(options_.cache_capacity, options_.ttl, options_.clock),
      pool_(pool_options(options_)) {
  storage::ExtensionChanges& changes =
      options_.changes ? *options_.changes : storage::ExtensionChanges::process_wide();
  subscription_ = changes.subscribe([this](const std::string& name) { cache_.invalidate(name); });
}

ExtensionBackend::~ExtensionBackend() = default;

void ExtensionBackend::lookup(const LookupRequest& request, LookupCallback done) {
  if (auto cached = cache_.get(request.username)) {
    done(*cached ? LookupResult::found(**cached) : LookupResult::not_found());
    return;
  }
  // A name no extension can have never reaches SQL (and is not cached, so
  // junk names cannot push real entries out).
  if (!storage::extension_name_problem(request.username).empty()) {
    done(LookupResult::not_found());
    return;
  }
  const uint64_t generation = cache_.generation();
  pool_.submit(
      [this, name = request.username, generation] {
        LookupResult result = query(name);
        if (result.outcome == LookupOutcome::Found) cache_.put(name, result.user, generation);
        if (result.outcome == LookupOutcome::NotFound) cache_.put(name, std::nullopt, generation);
        return result;
      },
      std::move(done));
}

void ExtensionBackend::reload() { cache_.clear(); }

storage::ExtensionStore* ExtensionBackend::store(std::string& error) {
  std::lock_guard lock(open_mutex_);
  if (store_) return store_.get();
  storage::Database::Options database_options;
  database_options.pool_size = options_.threads;
  database_options.timeout = std::max<std::chrono::milliseconds>(options_.timeout, std::chrono::seconds(1));
  database_ = storage::Database::open(options_.database_url, database_options, error);
  if (!database_) {
    // One warning per outage, not one per REGISTER; the message holds no URL.
    if (!open_failure_logged_) spdlog::warn("extension backend: cannot open the database: {}", error);
    open_failure_logged_ = true;
    return nullptr;
  }
  if (open_failure_logged_) spdlog::info("extension backend: database open again");
  open_failure_logged_ = false;
  store_ = std::make_unique<storage::ExtensionStore>(*database_, options_.changes);
  return store_.get();
}

LookupResult ExtensionBackend::query(const std::string& name) {
  std::string error;
  storage::ExtensionStore* extensions = store(error);
  if (extensions == nullptr) return LookupResult::error("extension backend: database unavailable");
  storage::Extension extension;
  storage::StoreStatus status = extensions->find(name, extension);
  switch (status.kind) {
    case storage::StoreStatus::Kind::Ok:
      return LookupResult::found(to_sip_user(extension));
    case storage::StoreStatus::Kind::NotFound:
    case storage::StoreStatus::Kind::Invalid:
      return LookupResult::not_found();
    default:
      return LookupResult::error("extension backend: " + status.message);
  }
}

// ---------------------------------------------------------------------------
// Configuration

namespace {

std::optional<int64_t> integer_field(ConfigFields& fields, std::string_view key, int64_t low,
                                     int64_t high, int64_t fallback) {
  const toml::node* node = fields.node(key);
  if (node == nullptr) return fallback;
  const auto* value = node->as_integer();
  if (value == nullptr || value->get() < low || value->get() > high) {
    fields.error(node, key, fmt::format("must be an integer from {} to {}", low, high));
    return std::nullopt;
  }
  return value->get();
}

size_t error_count(const config::Diagnostics& diagnostics) {
  size_t errors = 0;
  for (const auto& item : diagnostics.all()) {
    if (item.severity == config::Diagnostic::Severity::Error) ++errors;
  }
  return errors;
}

}  // namespace

std::shared_ptr<UserBackend> make_extension_backend(const config::UserBackendConfig& cfg,
                                                    config::Diagnostics& diagnostics) {
  const size_t problems_before = error_count(diagnostics);
  ConfigFields fields(cfg.table, cfg.key_path, cfg.where, diagnostics);
  auto own_url = fields.string("database_url", false);
  auto ttl = integer_field(fields, "ttl", 0, 86400, 30);
  auto timeout_ms = integer_field(fields, "timeout_ms", 1, 60000, 2000);
  auto max_in_flight = integer_field(fields, "max_in_flight", 1, 100000, 256);
  fields.warn_unknown_keys();

  ExtensionBackend::Options options;
  options.database_url = own_url ? *own_url : cfg.database_url;
  if (options.database_url.empty()) options.database_url = config::Config{}.database_url;
  if (own_url) {
    std::string problem;
    if (own_url->empty()) problem = "must not be empty";
    else if (!database_url::parse(*own_url, problem)) problem = "unusable: " + problem;
    if (!problem.empty()) fields.error(fields.node("database_url"), "database_url", problem);
  }
  if (error_count(diagnostics) != problems_before) return nullptr;
  options.ttl = std::chrono::seconds(*ttl);
  options.timeout = std::chrono::milliseconds(*timeout_ms);
  options.max_in_flight = static_cast<size_t>(*max_in_flight);
  return std::make_shared<ExtensionBackend>(std::move(options));
}

}  // namespace cppbx::users
