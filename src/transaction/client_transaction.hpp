// One RFC 3261 17.1 client transaction (INVITE: timers A, B, D; non-INVITE:
// E, F, K). Same shape as ServerTx: a mutex for state that cancel_timers()
// may touch from any thread, deadlines woken by the layer's timer wheel,
// handlers and sends outside the lock.
//
// A 2xx ends an INVITE client transaction at once; later 2xx retransmissions
// (or 2xx from other forks) match nothing and reach the core as strays, which
// is what a proxy needs. For non-2xx finals the ACK is built here from the
// request we sent (RFC 3261 17.1.1.3).
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "transaction/core.hpp"

namespace cppbx::transaction {

class ClientTx final : public ClientTransaction,
                       public TimerTarget,
                       public std::enable_shared_from_this<ClientTx> {
 public:
  ClientTx(CorePtr core, transport::Peer to, sip::Method method, std::string branch, std::string request,
           TransactionLayer::ResponseHandler on_response, std::string key);

  std::string_view branch() const override { return branch_; }
  void cancel_timers() override;

  void start();
  void on_response(transport::Inbound&& inbound);
  void abandon() { cancel_timers(); }

 private:
  enum class State { Calling, Proceeding, Completed, Terminated };
  using Clock = std::chrono::steady_clock;

  void on_timer_due() override;
  void arm_locked();
  void terminate_locked();
  void remove_from_table();
  void deliver(const ClientResult& result);
  std::string build_ack(const sip::Message& response) const;
  bool reliable() const { return transport::is_reliable(to_.protocol); }

  CorePtr core_;
  const transport::Peer to_;
  const bool invite_;
  const std::string branch_;
  const std::string request_;
  const TransactionLayer::ResponseHandler on_response_;
  const std::string key_;

  std::mutex mutex_;
  State state_ = State::Calling;
  std::string ack_;
  Clock::time_point queued_at_ = Clock::time_point::max();  // earliest wake-up asked of the wheel
  Clock::time_point retransmit_at_ = Clock::time_point::max();
  Clock::time_point end_at_ = Clock::time_point::max();
  Clock::duration retransmit_interval_{};
};

}  // namespace cppbx::transaction
