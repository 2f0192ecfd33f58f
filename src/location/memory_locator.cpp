// See memory_locator.hpp for the design; the registration rules themselves
// are binding_rules.hpp, shared with the other locators. Invariants kept under a shard lock:
// - an AoR entry exists only while it has at least one binding;
// - bindings of an AoR are ordered by last modification, oldest first;
// - aors_by_connection[c] holds every AoR with a stored binding over c.
#include "location/memory_locator.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/steady_timer.hpp>

#include "location/binding_listing.hpp"
#include "location/binding_rules.hpp"

namespace cppbx::location {
namespace {

constexpr size_t kShardCount = 16;

using BindingList = std::vector<Binding>;

// An AoR's list is shared with the UpdateResults that report it (see
// SharedBindings), so it is copied before a change while one is still read.
// Only a shard-locked update hands a list out, so a use count of one under
// the lock means nobody else can see it. use_count() is a relaxed read: the
// acquire fence orders the last reader's reads (it released its reference)
// before our writes.
BindingList& writable(std::shared_ptr<BindingList>& list) {
  if (list.use_count() > 1) {
    list = std::make_shared<BindingList>(*list);
  } else {
    std::atomic_thread_fence(std::memory_order_acquire);
  }
  return *list;
}

struct Shard {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<BindingList>> bindings_by_aor;
  std::unordered_map<transport::ConnectionId, std::unordered_set<std::string>> aors_by_connection;

  void remember_connection(const std::string& aor, transport::ConnectionId connection) {
    if (connection != 0) aors_by_connection[connection].insert(aor);
  }

  // Called after bindings over `connection` left `aor`'s list.
  void forget_connection_if_unused(const std::string& aor, const BindingList& list,
                                   transport::ConnectionId connection) {
    if (connection == 0) return;
    bool still_used = std::any_of(list.begin(), list.end(),
                                  [&](const Binding& b) { return b.connection == connection; });
    if (still_used) return;
    auto it = aors_by_connection.find(connection);
    if (it == aors_by_connection.end()) return;
    it->second.erase(aor);
    if (it->second.empty()) aors_by_connection.erase(it);
  }

  void forget_connections(const std::string& aor, const BindingList& list, const BindingList& gone) {
    for (const Binding& binding : gone) forget_connection_if_unused(aor, list, binding.connection);
  }
};

// Moves the bindings matching `predicate` from `list` to `out`, keeping order.
template <typename Predicate>
void extract_if(BindingList& list, BindingList& out, Predicate predicate) {
  auto keep_end = std::stable_partition(list.begin(), list.end(),
                                        [&](const Binding& b) { return !predicate(b); });
  std::move(keep_end, list.end(), std::back_inserter(out));
  list.erase(keep_end, list.end());
}

}  // namespace

struct MemoryLocator::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, MemoryLocatorOptions opts) : options(opts), timer(io) {}

  MemoryLocatorOptions options;
  std::array<Shard, kShardCount> shards;
  std::atomic<size_t> stored{0};

  std::mutex observer_mutex;
  std::shared_ptr<LocationObserver> observer;

  std::mutex timer_mutex;
  boost::asio::steady_timer timer;
  bool sweeping = false;

  Shard& shard_for(const std::string& aor) {
    return shards[std::hash<std::string>{}(aor) % kShardCount];
  }

  void adjust_count(size_t before, size_t after) {
    if (after >= before) stored += after - before;
    else stored -= before - after;
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

  UpdateResult apply(UpdateRequest& request, BindingList& expired);
  size_t sweep();
  void schedule_locked();
};

UpdateResult MemoryLocator::State::apply(UpdateRequest& request, BindingList& expired) {
  Shard& shard = shard_for(request.aor);
  std::lock_guard lock(shard.mutex);
  auto entry = shard.bindings_by_aor.find(request.aor);
  if (entry == shard.bindings_by_aor.end()) {
    if (request.upserts.empty()) return UpdateResult{};  // nothing stored, nothing to add
    entry = shard.bindings_by_aor.emplace(request.aor, std::make_shared<BindingList>()).first;
  }
  BindingList& list = writable(entry->second);
  const size_t size_before = list.size();

  BindingRules rules;
  rules.max_bindings_per_aor = options.max_bindings_per_aor;
  if (options.max_bindings_total != 0) {
    const size_t held = stored.load();
    rules.room_for_new = held >= options.max_bindings_total ? 0 : options.max_bindings_total - held;
  }
  // The map's key outlives this function's use of it: the entry is erased last.
  const std::string& aor = entry->first;
  BindingUpdate update = apply_binding_rules(std::move(list), std::move(request), rules, Clock::now());
  list = std::move(update.bindings);
  for (const Binding& binding : newest(list, update.registered_count)) {
    shard.remember_connection(aor, binding.connection);
  }
  shard.forget_connections(aor, list, update.replaced);
  shard.forget_connections(aor, list, update.removed);
  shard.forget_connections(aor, list, update.expired);
  expired = std::move(update.expired);
  adjust_count(size_before, list.size());
  if (list.empty()) {
    shard.bindings_by_aor.erase(entry);
    return update.to_result(nullptr);
  }
  return update.to_result(entry->second);
}

size_t MemoryLocator::State::sweep() {
  const auto now = Clock::now();
  BindingList expired;
  for (Shard& shard : shards) {
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.bindings_by_aor.begin(); it != shard.bindings_by_aor.end();) {
      const bool any_expired = std::any_of(it->second->begin(), it->second->end(),
                                           [&](const Binding& b) { return b.expired(now); });
      if (!any_expired) {
        ++it;
        continue;
      }
      BindingList& list = writable(it->second);
      const size_t first_expired = expired.size();
      extract_if(list, expired, [&](const Binding& b) { return b.expired(now); });
      BindingList gone(expired.begin() + static_cast<std::ptrdiff_t>(first_expired), expired.end());
      shard.forget_connections(it->first, list, gone);
      stored -= gone.size();
      it = list.empty() ? shard.bindings_by_aor.erase(it) : std::next(it);
    }
  }
  notify_offline(expired);
  return expired.size();
}

void MemoryLocator::State::schedule_locked() {
  timer.expires_after(options.sweep_interval);
  timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    if (error) return;  // cancelled by stop()
    auto self = weak.lock();
    if (!self) return;  // the locator is gone
    self->sweep();
    std::lock_guard lock(self->timer_mutex);
    if (self->sweeping) self->schedule_locked();
  });
}

MemoryLocator::MemoryLocator(boost::asio::io_context& io, MemoryLocatorOptions options)
    : state_(std::make_shared<State>(io, options)) {
  if (state_->options.sweep_interval <= std::chrono::milliseconds::zero()) {
    state_->options.sweep_interval = std::chrono::seconds(1);  // a zero period would spin
  }
}

MemoryLocator::~MemoryLocator() { stop(); }

void MemoryLocator::start() {
  std::lock_guard lock(state_->timer_mutex);
  if (state_->sweeping) return;
  state_->sweeping = true;
  state_->schedule_locked();
}

void MemoryLocator::stop() {
  std::lock_guard lock(state_->timer_mutex);
  state_->sweeping = false;
  state_->timer.cancel();
}

size_t MemoryLocator::sweep_now() { return state_->sweep(); }

void MemoryLocator::update(UpdateRequest request, std::function<void(UpdateResult)> done) {
  BindingList expired;
  UpdateResult result = state_->apply(request, expired);
  state_->notify_offline(expired);
  done(std::move(result));
}

void MemoryLocator::lookup(const std::string& aor, std::function<void(LookupResult)> done) {
  const auto now = Clock::now();
  LookupResult result;
  {
    Shard& shard = state_->shard_for(aor);
    std::lock_guard lock(shard.mutex);
    auto entry = shard.bindings_by_aor.find(aor);
    if (entry != shard.bindings_by_aor.end()) {
      result.bindings.reserve(entry->second->size());
      for (const Binding& binding : *entry->second) {
        if (!binding.expired(now)) result.bindings.push_back(binding);
      }
    }
  }
  done(std::move(result));
}

// A copy of every binding, shard by shard (an admin listing, not a SIP path).
void MemoryLocator::list(ListRequest request, std::function<void(ListResult)> done) {
  std::vector<Binding> matching;
  for (Shard& shard : state_->shards) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [aor, bindings] : shard.bindings_by_aor) {
      if (!aor_contains(aor, request.aor_contains)) continue;
      matching.insert(matching.end(), bindings->begin(), bindings->end());
    }
  }
  done(page_of(std::move(matching), request, Clock::now()));
}

void MemoryLocator::remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) {
  update(removal_request(std::move(aor), std::move(key)), std::move(done));
}

void MemoryLocator::connection_closed(transport::ConnectionId connection) {
  if (connection == 0) return;  // datagram "connections" never close
  BindingList offline;
  for (Shard& shard : state_->shards) {
    std::lock_guard lock(shard.mutex);
    auto index = shard.aors_by_connection.find(connection);
    if (index == shard.aors_by_connection.end()) continue;
    for (const std::string& aor : index->second) {
      auto entry = shard.bindings_by_aor.find(aor);
      if (entry == shard.bindings_by_aor.end()) continue;
      const size_t before = offline.size();
      BindingList& list = writable(entry->second);
      extract_if(list, offline, [&](const Binding& b) { return b.connection == connection; });
      state_->stored -= offline.size() - before;
      if (list.empty()) shard.bindings_by_aor.erase(entry);
    }
    shard.aors_by_connection.erase(index);
  }
  state_->notify_offline(offline);
}

void MemoryLocator::set_observer(std::shared_ptr<LocationObserver> observer) {
  std::lock_guard lock(state_->observer_mutex);
  state_->observer = std::move(observer);
}

size_t MemoryLocator::binding_count() const { return state_->stored.load(); }

}  // namespace cppbx::location
