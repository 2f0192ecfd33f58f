// The "memory" locator: bindings in process memory, lost on restart.
//
// AoRs are spread over a fixed number of shards, each an unordered_map under
// its own mutex, so lookups are O(1) and I/O threads registering different
// users rarely contend. Within an AoR the bindings are kept in modification
// order (oldest first), which makes "replace the least recently modified
// binding" at the per-AoR limit a pop from the front.
//
// Expired bindings are never returned; they are physically removed by a
// sweeper on an Asio steady_timer, which reports them through the observer's
// on_offline() once per sweep. The timer handler holds only a weak reference
// to the locator's state, so destroying the locator while the io_context is
// still running is safe. Callbacks (done, observer) run without any lock held.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "location/locator.hpp"

namespace cppbx::location {

struct MemoryLocatorOptions {
  uint32_t max_bindings_per_aor = 10;  // 0: unlimited
  std::chrono::milliseconds sweep_interval{5000};
  // Bounds the whole store so that authenticated users inventing AoRs cannot
  // exhaust memory; a REGISTER adding a binding beyond it fails (503).
  size_t max_bindings_total = 1000000;  // 0: unlimited
};

class MemoryLocator final : public Locator {
 public:
  MemoryLocator(boost::asio::io_context& io, MemoryLocatorOptions options);
  ~MemoryLocator() override;
  MemoryLocator(const MemoryLocator&) = delete;
  MemoryLocator& operator=(const MemoryLocator&) = delete;

  std::string_view type() const override { return "memory"; }
  void update(UpdateRequest request, std::function<void(UpdateResult)> done) override;
  void lookup(const std::string& aor, std::function<void(LookupResult)> done) override;
  void list(ListRequest request, std::function<void(ListResult)> done) override;
  void remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) override;
  void connection_closed(transport::ConnectionId connection) override;
  void set_observer(std::shared_ptr<LocationObserver> observer) override;
  // Bindings stored, including expired ones the sweeper has not removed yet.
  size_t binding_count() const override;

  // Starts / stops the periodic sweeper. Both are idempotent and thread-safe.
  void start() override;
  void stop() override;
  // One sweep now (what the timer does); returns the number of bindings removed.
  size_t sweep_now();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cppbx::location
