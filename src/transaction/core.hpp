// State shared by the transaction layer and its transactions. Transactions
// hold a shared_ptr to it, so timers that fire after the layer object is gone
// still find valid tables; the layer's destructor clears the tables, which
// breaks the reference cycle.
//
// Non-INVITE server transactions use no Asio timer of their own: every one of
// them has the same deadline length (64*T1), so a FIFO list (DeadlineList)
// and one housekeeping timer per layer serve them all, and once answered over
// UDP they shrink into a CompletedStore record for Timer J. One timer wake-up
// per tick replaces a timer arm, a cancel and a posted completion per
// transaction.
//
// Every other deadline (INVITE server transactions, client transactions,
// Timer C of a proxy) sits in a TimerWheel (`wheel`) swept by the same timer, which
// ticks every few milliseconds while anything is pending and is re-armed by
// its own thread: under load the receiver threads never touch an Asio timer.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transaction/completed_store.hpp"
#include "transaction/sharded_map.hpp"
#include "transaction/timer_wheel.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {

class ServerTx;
class ClientTx;

// A place in DeadlineList, embedded in each non-INVITE server transaction.
struct DeadlineLink {
  DeadlineLink* prev = nullptr;
  DeadlineLink* next = nullptr;
  std::chrono::steady_clock::time_point deadline;
  ServerTx* owner = nullptr;
  bool linked = false;
};

// Non-INVITE server transactions still waiting for their final response, in
// deadline order (all deadlines are start + 64*T1, so appending keeps the
// order). Intrusive: linking and unlinking allocate nothing.
class DeadlineList {
 public:
  void push_back(DeadlineLink& link, std::chrono::steady_clock::time_point deadline);
  void remove(DeadlineLink& link);
  // Unlinks every entry whose deadline passed; returns the transactions that
  // are still alive.
  std::vector<std::shared_ptr<ServerTx>> pop_expired(std::chrono::steady_clock::time_point now);
  bool empty() const;

 private:
  mutable std::mutex mutex_;
  DeadlineLink* head_ = nullptr;
  DeadlineLink* tail_ = nullptr;
};

struct Core : std::enable_shared_from_this<Core> {
  Core(boost::asio::io_context& io_context, transport::TransportLayer& transport_layer,
       TransactionLayer::Options layer_options)
      : io(io_context),
        transport(transport_layer),
        options(std::move(layer_options)),
        wheel(wheel_tick(options.timers)),
        housekeeping_timer(io),
        coarse_tick_(coarse_tick(options.timers)) {}

  boost::asio::io_context& io;
  transport::TransportLayer& transport;
  TransactionLayer::Options options;

  // Set before traffic starts, read-only afterwards.
  TransactionLayer::RequestHandler on_request;
  TransactionLayer::StrayHandler on_stray;
  TransactionLayer::CancelHandler on_cancel;

  ShardedMap<std::shared_ptr<ServerTx>> servers;  // by server_key()
  ShardedMap<std::shared_ptr<ServerTx>> merging;  // by merge_key(), requests without To tag
  ShardedMap<std::shared_ptr<ClientTx>> clients;  // by client_key()
  CompletedStore completed;  // answered non-INVITE transactions over UDP, in Timer J
  DeadlineList deadlines;    // non-INVITE transactions awaiting their final response
  TimerWheel wheel;          // every other deadline

  std::atomic<bool> shutting_down{false};
  std::atomic<size_t> awaiting_final{0};  // server transactions without a final response
  std::atomic<size_t> dropped{0};

  // A response this layer sends on its own: To tag, Server header, Via stamp.
  std::string build_own_response(const sip::Message& request, const transport::Peer& source, int code,
                                 std::string_view reason, std::string_view to_tag,
                                 std::span<const sip::HeaderField> extra_headers = {}) const;
  void respond_statelessly(const transport::Inbound& inbound, int code, std::string_view reason = {},
                           std::span<const sip::HeaderField> extra_headers = {});

  // Makes sure the housekeeping timer runs: call after adding to `completed`
  // or `deadlines`. Cheap when it already runs (one atomic load).
  void schedule_housekeeping();
  // Puts a deadline in `wheel` and makes sure the housekeeping timer runs.
  void schedule(std::chrono::steady_clock::time_point when, std::weak_ptr<TimerTarget> target);
  // Stops the housekeeping timer (layer teardown).
  void stop_housekeeping();
  // Expires CompletedStore records and overdue non-INVITE transactions, and
  // wakes the targets in `wheel` that are due.
  void housekeep();

 private:
  // How the housekeeping timer is armed. Only the wheel's targets
  // (retransmissions, 100 Trying, Timer C) need the fine tick; Timer J
  // records and the non-INVITE deadlines (both tens of seconds) are swept on
  // a coarse one, so a PBX whose phones only register wakes 10 times a second
  // instead of 100.
  enum class Tick : int { None, Coarse, Fine };
  static std::chrono::steady_clock::duration wheel_tick(const Timers& timers);
  static std::chrono::steady_clock::duration coarse_tick(const Timers& timers);
  void arm_housekeeping_locked(Tick tick);

  std::mutex housekeeping_mutex_;  // guards the timer object and the armed state's transitions
  boost::asio::steady_timer housekeeping_timer;
  const std::chrono::steady_clock::duration coarse_tick_;
  std::atomic<Tick> housekeeping_armed_{Tick::None};
  bool housekeeping_stopped_ = false;
};
using CorePtr = std::shared_ptr<Core>;

}  // namespace cppbx::transaction
