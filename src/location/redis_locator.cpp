// See redis_locator.hpp for the key layout and the design. Work that talks to
// Redis runs on the pool's workers; the io_context only runs the sweeper's
// timer. Pool jobs hold a raw State pointer: the pool is State's last
// member, so it is destroyed (joining its workers and answering what is
// queued) before anything a job touches.
//
// A TCP flow may close while its REGISTER is being written: the close is
// remembered (recently_closed.hpp) and the update removes what it just wrote
// over that flow and reports it offline, as connection_closed() would have.
#include "location/redis_locator.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/blocking_pool.hpp"
#include "location/binding_listing.hpp"
#include "location/binding_rules.hpp"
#include "location/recently_closed.hpp"

namespace cppbx::location {
namespace {

using BindingList = std::vector<Binding>;
using Json = nlohmann::json;

// Reads an AoR: returns {version, binding JSON...}, pruning index entries
// whose binding is gone. KEYS: index, version.
const RedisScript kReadScript{R"lua(
local entries = redis.call('HGETALL', KEYS[1])
local out = { redis.call('GET', KEYS[2]) or '0' }
for i = 1, #entries, 2 do
  local value = redis.call('GET', entries[i + 1])
  if value then
    out[#out + 1] = value
  else
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
return out
)lua"};

// Writes an AoR if its version is still ARGV[1]; returns 1, or 0 on a
// conflict. ARGV[2]: the index's expiry (Unix ms; "0" deletes the AoR),
// ARGV[3]: n, then n (field, name) pairs to delete, then (field, name,
// json, expiry ms) per binding to set. KEYS: index, version.
const RedisScript kWriteScript{R"lua(
local version = redis.call('GET', KEYS[2]) or '0'
if version ~= ARGV[1] then return 0 end
local i = 4
for _ = 1, tonumber(ARGV[3]) do
  redis.call('DEL', ARGV[i + 1])
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 2
end
while i <= #ARGV do
  redis.call('SET', ARGV[i + 1], ARGV[i + 2], 'PXAT', ARGV[i + 3])
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 4
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
end
return 1
)lua"};

// Conflicts only happen when one AoR is written from several places at the
// same moment; a short random pause spreads the writers out.
constexpr int kWriteAttempts = 50;

void pause_after_conflict(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int ceiling_us = std::min(100 * (attempt + 1), 5000);
  std::this_thread::sleep_for(std::chrono::microseconds(random() % static_cast<unsigned>(ceiling_us)));
}
constexpr size_t kSweepBatch = 500;

// A key prefix as a SCAN MATCH pattern that matches it literally.
std::string glob_literal(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// ---- Binding <-> JSON ----

constexpr std::array<std::string_view, 5> kProtocolNames = {"udp", "tcp", "tls", "ws", "wss"};

int64_t unix_ms(Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

// Nanoseconds: bindings are ordered by last modification, and two updates of
// one AoR are always more than a nanosecond apart (each takes a round trip).
int64_t unix_ns(Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

Clock::time_point from_unix_ns(int64_t ns) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

Clock::time_point from_unix_ms(int64_t ms) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}

std::string to_json(const Binding& b, uint64_t run) {
  Json json = {
      {"run", run},
      {"aor", b.aor},
      {"contact", b.contact},
      {"contact_params", b.contact_params},
      {"instance_id", b.instance_id},
      {"reg_id", b.reg_id},
      {"expires_at_ms", unix_ms(b.expires_at)},
      {"destination", b.destination},
      {"transport", kProtocolNames[static_cast<size_t>(b.transport)]},
      {"connection", b.connection},
      {"user_agent", b.user_agent},
      {"path", b.path},
      {"supports_webrtc", b.supports_webrtc},
      {"call_id", b.call_id},
      {"cseq", b.cseq},
      {"last_modified_ns", unix_ns(b.last_modified)},
      {"home_proxy", b.home_proxy},
      {"q", b.q},
  };
  // Invalid UTF-8 (a hostile User-Agent) is replaced rather than thrown on.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

transport::Protocol protocol_from(const std::string& name) {
  for (size_t i = 0; i < kProtocolNames.size(); ++i) {
    if (kProtocolNames[i] == name) return static_cast<transport::Protocol>(i);
  }
  return transport::Protocol::Udp;
}

// nullopt for a value that is not a binding this code wrote (never throws).
std::optional<Binding> from_json(std::string_view text, uint64_t* run = nullptr) {
  Json json = Json::parse(text, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  try {
    if (run != nullptr) *run = json.value("run", uint64_t{0});
    Binding b;
    b.aor = json.at("aor").get<std::string>();
    b.contact = json.at("contact").get<std::string>();
    b.contact_params = json.value("contact_params", "");
    b.instance_id = json.value("instance_id", "");
    b.reg_id = json.value("reg_id", 0u);
    b.expires_at = from_unix_ms(json.at("expires_at_ms").get<int64_t>());
    b.destination = json.value("destination", "");
    b.transport = protocol_from(json.value("transport", "udp"));
    b.connection = json.value("connection", transport::ConnectionId{0});
    b.user_agent = json.value("user_agent", "");
    b.path = json.value("path", std::vector<std::string>{});
    b.supports_webrtc = json.value("supports_webrtc", false);
    b.call_id = json.value("call_id", "");
    b.cseq = json.value("cseq", 0u);
    b.last_modified = from_unix_ns(json.value("last_modified_ns", int64_t{0}));
    b.home_proxy = json.value("home_proxy", "");
    b.q = json.value("q", 1.0f);
    return b;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

// Which node holds each binding: how an operator (and the two-node
// integration test) sees that a lookup on one node found another node's
// phone. Contact URIs are left out: they may carry a password.
void log_lookup(const std::string& aor, const BindingList& bindings) {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  std::string homes;
  for (const Binding& b : bindings) {
    if (!homes.empty()) homes += ", ";
    homes += "home=" + b.home_proxy + " from=" + b.destination;
  }
  spdlog::debug("redis locator: lookup aor={} found {} binding(s) [{}]", aor, bindings.size(), homes);
}

// ---- What a pool job answers ----

struct Outcome {
  std::string error;  // non-empty: Redis could not be used
  UpdateResult update;
  LookupResult lookup;
  BindingList offline;
};

Outcome failed(std::string why) {
  Outcome outcome;
  outcome.error = std::move(why);
  return outcome;
}

struct AorSnapshot {
  std::string version;
  BindingList bindings;  // oldest modification first
};

struct WritePlan {
  BindingList final_bindings;
  BindingList sets;
  std::vector<std::string> deleted_keys;  // binding keys
};

}  // namespace

struct RedisLocator::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, RedisLocatorOptions opts)
      : options(std::move(opts)),
        timer(io),
        pool(BlockingPoolOptions{"redis locator", options.pool_size, options.max_in_flight, options.timeout},
             failed) {}

  RedisLocatorOptions options;
  // This process's mark on the bindings it writes: connection ids are only
  // valid in the process that stored them, not after a restart.
  const uint64_t run = std::random_device{}() * uint64_t{0x100000000} + std::random_device{}();

  std::mutex observer_mutex;
  std::shared_ptr<LocationObserver> observer;

  // Bindings this node stored, by binding name (see binding_name()), and
  // its flows closed lately (see recently_closed.hpp), under one lock.
  mutable std::mutex own_mutex;
  std::map<std::string, Binding> own;
  RecentlyClosedConnections closed;

  std::mutex timer_mutex;
  boost::asio::steady_timer timer;
  bool sweeping = false;
  bool sweep_running = false;

  std::mutex connections_mutex;
  std::vector<std::unique_ptr<RedisConnection>> idle_connections;

  BlockingPoolOf<Outcome> pool;  // last: destroyed first

  // ---- names ----
  std::string binding_name(const std::string& aor, std::string_view key) const {
    return options.key_prefix + "binding:" + std::to_string(aor.size()) + ":" + aor + ":" + std::string(key);
  }
  std::string index_name(const std::string& aor) const { return options.key_prefix + "aor:" + aor; }
  std::string version_name(const std::string& aor) const { return options.key_prefix + "version:" + aor; }

  // ---- connections: one per running job, so one per worker ----
  template <typename Work>
  Outcome with_connection(Work work) {
    std::unique_ptr<RedisConnection> connection;
    {
      std::lock_guard lock(connections_mutex);
      if (!idle_connections.empty()) {
        connection = std::move(idle_connections.back());
        idle_connections.pop_back();
      }
    }
    if (!connection) connection = std::make_unique<RedisConnection>(options.endpoint, options.timeout);
    Outcome outcome;
    try {
      outcome = work(*connection);
    } catch (const RedisError& error) {
      outcome = failed(error.what());  // the connection closed itself; the next call reconnects
    }
    std::lock_guard lock(connections_mutex);
    idle_connections.push_back(std::move(connection));
    return outcome;
  }

  // ---- Redis operations (on a worker) ----
  AorSnapshot read(RedisConnection& connection, const std::string& aor) const {
    RedisReplyPtr reply = connection.eval(kReadScript, {index_name(aor), version_name(aor)}, {});
    AorSnapshot snapshot;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
      throw RedisError("redis locator: unexpected answer to the read script");
    }
    snapshot.version = reply_text(reply->element[0]);
    const auto now = Clock::now();
    for (size_t i = 1; i < reply->elements; ++i) {
      const redisReply* element = reply->element[i];
      if (element->type != REDIS_REPLY_STRING) continue;
      uint64_t written_by = 0;
      std::optional<Binding> binding = from_json(std::string_view(element->str, element->len), &written_by);
      if (!binding || binding->expired(now)) continue;
      // A connection id only means something to the process that stored it.
      if (binding->home_proxy != options.home_proxy || written_by != run) binding->connection = 0;
      snapshot.bindings.push_back(std::move(*binding));
    }
    std::stable_sort(snapshot.bindings.begin(), snapshot.bindings.end(),
                     [](const Binding& a, const Binding& b) { return a.last_modified < b.last_modified; });
    return snapshot;
  }

  // The names of every binding key (SCAN, which may repeat a name) whose
  // text contains `needle`: a binding whose AoR contains it does too.
  std::vector<std::string> scan_binding_names(RedisConnection& connection, const std::string& needle) const {
    const std::string pattern = glob_literal(options.key_prefix) + "binding:*";
    std::vector<std::string> names;
    std::string cursor = "0";
    do {
      RedisReplyPtr reply = connection.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        throw RedisError("redis locator: unexpected answer to SCAN");
      }
      cursor = reply_text(reply->element[0]);
      const redisReply* keys = reply->element[1];
      for (size_t i = 0; i < keys->elements; ++i) {
        std::string name = reply_text(keys->element[i]);
        if (aor_contains(name, needle)) names.push_back(std::move(name));
      }
    } while (cursor != "0");
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  // Every stored binding whose AoR may contain `needle` (list() filters and
  // pages); a key that expired between SCAN and MGET is simply absent.
  BindingList read_matching(RedisConnection& connection, const std::string& needle) const {
    const std::vector<std::string> names = scan_binding_names(connection, needle);
    BindingList found;
    for (size_t start = 0; start < names.size(); start += kSweepBatch) {
      const size_t end = std::min(names.size(), start + kSweepBatch);
      std::vector<std::string> mget = {"MGET"};
      mget.insert(mget.end(), names.begin() + static_cast<std::ptrdiff_t>(start),
                  names.begin() + static_cast<std::ptrdiff_t>(end));
      RedisReplyPtr reply = connection.command(mget);
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != end - start) {
        throw RedisError("redis locator: unexpected answer to MGET");
      }
      for (size_t i = 0; i < reply->elements; ++i) {
        const redisReply* value = reply->element[i];
        if (reply_is_nil(value) || value->type != REDIS_REPLY_STRING) continue;
        uint64_t written_by = 0;
        std::optional<Binding> binding = from_json(std::string_view(value->str, value->len), &written_by);
        if (!binding) continue;
        if (binding->home_proxy != options.home_proxy || written_by != run) binding->connection = 0;
        found.push_back(std::move(*binding));
      }
    }
    return found;
  }

  // False when the AoR changed since `version` was read.
  bool write(RedisConnection& connection, const std::string& aor, const std::string& version,
             const WritePlan& plan) const {
    int64_t index_expiry = 0;
    for (const Binding& b : plan.final_bindings) index_expiry = std::max(index_expiry, unix_ms(b.expires_at));
    std::vector<std::string> arguments = {version, std::to_string(index_expiry),
                                          std::to_string(plan.deleted_keys.size())};
    for (const std::string& key : plan.deleted_keys) {
      arguments.push_back(key);
      arguments.push_back(binding_name(aor, key));
    }
    // Bindings set by one request share `now`; a nanosecond apart each, they
    // read back in the request's order.
    int64_t order = 0;
    for (Binding b : plan.sets) {
      b.last_modified += std::chrono::nanoseconds(order++);
      const std::string key(key_view(b));
      arguments.push_back(key);
      arguments.push_back(binding_name(aor, key));
      arguments.push_back(to_json(b, run));
      arguments.push_back(std::to_string(std::max<int64_t>(unix_ms(b.expires_at), 1)));
    }
    RedisReplyPtr reply = connection.eval(kWriteScript, {index_name(aor), version_name(aor)}, arguments);
    return reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
  }

  // Read, compute, write until the write finds the version it read.
  // `compute` returns nullopt when nothing is to be written.
  template <typename Compute>
  void read_modify_write(RedisConnection& connection, const std::string& aor, Compute compute) const {
    for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
      AorSnapshot snapshot = read(connection, aor);
      std::optional<WritePlan> plan = compute(std::move(snapshot.bindings));
      if (!plan || write(connection, aor, snapshot.version, *plan)) return;
      pause_after_conflict(attempt);
    }
    throw RedisError("redis locator: " + aor + " kept changing under concurrent updates");
  }

  Outcome run_update(RedisConnection& connection, const UpdateRequest& request) {
    // No store-wide bound: Redis's own maxmemory policy is the operator's tool.
    const BindingRules rules{options.max_bindings_per_aor, std::numeric_limits<size_t>::max()};
    Outcome outcome;
    BindingUpdate applied;
    read_modify_write(connection, request.aor, [&](BindingList current) -> std::optional<WritePlan> {
      applied = apply_binding_rules(std::move(current), request, rules, Clock::now());
      if (applied.status != UpdateStatus::Ok) return std::nullopt;
      WritePlan plan;
      plan.final_bindings = applied.bindings;
      plan.sets.assign(applied.registered().begin(), applied.registered().end());
      std::set<std::string, std::less<>> kept;
      for (const Binding& b : applied.bindings) kept.emplace(key_view(b));
      for (const BindingList* gone : {&applied.removed, &applied.expired}) {
        for (const Binding& b : *gone) {
          if (!kept.contains(key_view(b))) plan.deleted_keys.emplace_back(key_view(b));
        }
      }
      return plan;
    });
    if (applied.status == UpdateStatus::Ok) {
      const auto closed_meanwhile = remember(request.aor, applied);
      remove_closed_meanwhile(connection, request.aor, closed_meanwhile);
    }
    outcome.update = applied.to_result();
    return outcome;
  }

  // The flow of a binding just written may have closed while the write was
  // in flight (connection_closed() found nothing then): it goes at once. The
  // update itself succeeded, so a failure here only leaves the binding to
  // expire (the sweeper reports it then). Reported from the worker: the
  // pool drops an answer that comes after its timeout.
  void remove_closed_meanwhile(RedisConnection& connection, const std::string& aor,
                               const std::map<transport::ConnectionId, std::set<std::string>>& keys_by_flow) {
    for (const auto& [flow, keys] : keys_by_flow) {
      try {
        notify_offline(remove_flow_bindings(connection, aor, flow, keys));
      } catch (const RedisError& error) {
        spdlog::warn("redis locator: removing a binding of a closed connection failed: {}", error.what());
      }
    }
  }

  // Deletes this node's bindings of `aor` over `flow` among `keys` from
  // Redis, forgets them, and returns those this call deleted.
  BindingList remove_flow_bindings(RedisConnection& connection, const std::string& aor, transport::ConnectionId flow,
                                   const std::set<std::string>& keys) {
    BindingList offline;
    read_modify_write(connection, aor, [&](BindingList current) -> std::optional<WritePlan> {
      WritePlan plan;
      offline.clear();
      for (Binding& b : current) {
        const bool ours = b.home_proxy == options.home_proxy && b.connection == flow &&
                          keys.contains(std::string(key_view(b)));
        if (ours) {
          plan.deleted_keys.emplace_back(key_view(b));
          offline.push_back(std::move(b));
        } else {
          plan.final_bindings.push_back(std::move(b));
        }
      }
      if (plan.deleted_keys.empty()) return std::nullopt;
      return plan;
    });
    // A binding re-registered over a new connection meanwhile stays tracked.
    std::lock_guard lock(own_mutex);
    for (const std::string& key : keys) {
      auto it = own.find(binding_name(aor, key));
      if (it != own.end() && it->second.connection == flow) own.erase(it);
    }
    return offline;
  }

  // ---- this node's own bindings (for offline events) ----
  // Returns the keys just registered over flows already closed, by flow:
  // decided under the lock connection_closed() records closes with, so each
  // such binding is removed either there or by the caller, never both.
  std::map<transport::ConnectionId, std::set<std::string>> remember(const std::string& aor,
                                                                    const BindingUpdate& applied) {
    std::map<transport::ConnectionId, std::set<std::string>> closed_meanwhile;
    std::lock_guard lock(own_mutex);
    for (const Binding& b : applied.removed) own.erase(binding_name(aor, key_view(b)));
    for (const Binding& b : applied.bindings) {
      if (b.home_proxy != options.home_proxy) own.erase(binding_name(aor, key_view(b)));
    }
    for (const Binding& b : applied.registered()) {
      own[binding_name(aor, key_view(b))] = b;
      if (closed.contains(b.connection)) closed_meanwhile[b.connection].emplace(key_view(b));
    }
    return closed_meanwhile;
  }

  void notify_offline(const BindingList& gone) {
    if (gone.empty()) return;
    std::shared_ptr<LocationObserver> current;
    {
      std::lock_guard lock(observer_mutex);
      current = observer;
    }
    if (current) current->on_offline(gone);
  }

  // Own bindings whose expiry passed: gone from Redis -> offline; refreshed
  // through another node -> forgotten quietly.
  Outcome run_sweep(RedisConnection& connection, const std::vector<std::pair<std::string, Binding>>& due) {
    Outcome outcome;
    std::vector<std::pair<std::string, Binding>> vanished;    // offline
    std::vector<std::pair<std::string, Binding>> taken_over;  // now another node's: forget quietly
    for (size_t start = 0; start < due.size(); start += kSweepBatch) {
      const size_t end = std::min(due.size(), start + kSweepBatch);
      std::vector<std::string> mget = {"MGET"};
      for (size_t i = start; i < end; ++i) mget.push_back(due[i].first);
      RedisReplyPtr reply = connection.command(mget);
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != end - start) {
        throw RedisError("redis locator: unexpected answer to MGET");
      }
      for (size_t i = start; i < end; ++i) {
        const redisReply* value = reply->element[i - start];
        if (reply_is_nil(value)) {
          vanished.push_back(due[i]);
          continue;
        }
        std::optional<Binding> stored = from_json(std::string_view(value->str, value->len));
        if (!stored || stored->home_proxy != options.home_proxy) taken_over.push_back(due[i]);
      }
    }
    std::lock_guard lock(own_mutex);
    // An entry refreshed here while the sweep ran has a new expiry: keep it.
    auto forget = [&](const std::string& name, const Binding& swept) {
      auto it = own.find(name);
      if (it == own.end() || it->second.expires_at != swept.expires_at) return false;
      own.erase(it);
      return true;
    };
    for (auto& [name, swept] : taken_over) forget(name, swept);
    for (auto& [name, swept] : vanished) {
      if (forget(name, swept)) outcome.offline.push_back(std::move(swept));
    }
    return outcome;
  }

  void sweep(std::function<void(long)> done);
  void schedule_locked();
};

void RedisLocator::State::sweep(std::function<void(long)> done) {
  const auto now = Clock::now();
  std::vector<std::pair<std::string, Binding>> due;
  {
    std::lock_guard lock(own_mutex);
    for (const auto& [name, binding] : own) {
      if (binding.expired(now)) due.emplace_back(name, binding);
    }
  }
  if (due.empty()) {
    if (done) done(0);
    return;
  }
  {
    std::lock_guard lock(timer_mutex);
    if (sweep_running) {
      if (done) done(-1);
      return;
    }
    sweep_running = true;
  }
  pool.submit(
      [this, due = std::move(due)] { return with_connection([&](RedisConnection& c) { return run_sweep(c, due); }); },
      [this, done = std::move(done)](Outcome outcome) {
        {
          std::lock_guard lock(timer_mutex);
          sweep_running = false;
        }
        notify_offline(outcome.offline);
        if (done) done(outcome.error.empty() ? static_cast<long>(outcome.offline.size()) : -1);
      });
}

void RedisLocator::State::schedule_locked() {
  timer.expires_after(options.sweep_interval);
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    if (error) return;  // cancelled by stop()
    auto self = weak.lock();
    if (!self) return;
    self->sweep(nullptr);
    std::lock_guard lock(self->timer_mutex);
    if (self->sweeping) self->schedule_locked();
  });
}

RedisLocator::RedisLocator(boost::asio::io_context& io, RedisLocatorOptions options) {
  if (options.sweep_interval <= std::chrono::milliseconds::zero()) options.sweep_interval = std::chrono::seconds(1);
  state_ = std::make_shared<State>(io, std::move(options));
}

RedisLocator::~RedisLocator() { stop(); }

void RedisLocator::start() {
  std::lock_guard lock(state_->timer_mutex);
  if (state_->sweeping) return;
  state_->sweeping = true;
  state_->schedule_locked();
}

void RedisLocator::stop() {
  std::lock_guard lock(state_->timer_mutex);
  state_->sweeping = false;
  state_->timer.cancel();
}

void RedisLocator::sweep_now(std::function<void(long)> done) { state_->sweep(std::move(done)); }

void RedisLocator::update(UpdateRequest request, std::function<void(UpdateResult)> done) {
  State* state = state_.get();
  for (Binding& upsert : request.upserts) upsert.home_proxy = state->options.home_proxy;
  state->pool.submit(
      [state, request = std::move(request)] {
        return state->with_connection([&](RedisConnection& c) { return state->run_update(c, request); });
      },
      [state, done = std::move(done)](Outcome outcome) {
        if (!outcome.error.empty()) {
          UpdateResult result;
          result.status = UpdateStatus::Error;
          result.detail = std::move(outcome.error);
          return done(std::move(result));
        }
        done(std::move(outcome.update));
      });
}

void RedisLocator::lookup(const std::string& aor, std::function<void(LookupResult)> done) {
  State* state = state_.get();
  state->pool.submit(
      [state, aor] {
        return state->with_connection([&](RedisConnection& c) {
          Outcome outcome;
          outcome.lookup.bindings = state->read(c, aor).bindings;
          return outcome;
        });
      },
      [state, aor, done = std::move(done)](Outcome outcome) {
        LookupResult result;
        if (!outcome.error.empty()) {
          result.ok = false;
          result.detail = std::move(outcome.error);
          return done(std::move(result));
        }
        result = std::move(outcome.lookup);
        log_lookup(aor, result.bindings);
        done(std::move(result));
      });
}

void RedisLocator::list(ListRequest request, std::function<void(ListResult)> done) {
  State* state = state_.get();
  const std::string needle = request.aor_contains;
  state->pool.submit(
      [state, needle] {
        return state->with_connection([&](RedisConnection& c) {
          Outcome outcome;
          outcome.lookup.bindings = state->read_matching(c, needle);
          return outcome;
        });
      },
      [request = std::move(request), done = std::move(done)](Outcome outcome) {
        if (!outcome.error.empty()) {
          ListResult failed;
          failed.ok = false;
          failed.detail = std::move(outcome.error);
          return done(std::move(failed));
        }
        done(page_of(std::move(outcome.lookup.bindings), request, Clock::now()));
      });
}

void RedisLocator::remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) {
  update(removal_request(std::move(aor), std::move(key)), std::move(done));
}

void RedisLocator::connection_closed(transport::ConnectionId connection) {
  if (connection == 0) return;
  State* state = state_.get();
  std::map<std::string, std::set<std::string>> keys_by_aor;
  {
    std::lock_guard lock(state->own_mutex);
    state->closed.add(connection);  // for updates still in flight over it
    for (const auto& [name, binding] : state->own) {
      if (binding.connection == connection) keys_by_aor[binding.aor].emplace(key_view(binding));
    }
  }
  for (auto& [aor, keys] : keys_by_aor) {
    state->pool.submit(
        [state, aor = aor, keys = std::move(keys), connection] {
          return state->with_connection([&](RedisConnection& c) {
            Outcome outcome;
            outcome.offline = state->remove_flow_bindings(c, aor, connection, keys);
            return outcome;
          });
        },
        // On failure the bindings stay in Redis until they expire and the
        // sweeper reports them then.
        [state](Outcome outcome) { state->notify_offline(outcome.offline); });
  }
}

void RedisLocator::set_observer(std::shared_ptr<LocationObserver> observer) {
  std::lock_guard lock(state_->observer_mutex);
  state_->observer = std::move(observer);
}

size_t RedisLocator::binding_count() const {
  std::lock_guard lock(state_->own_mutex);
  return state_->own.size();
}

std::string RedisLocator::binding_key_name(const std::string& aor, const std::string& binding_key) const {
  return state_->binding_name(aor, binding_key);
}

std::string RedisLocator::index_key_name(const std::string& aor) const { return state_->index_name(aor); }

}  // namespace cppbx::location
