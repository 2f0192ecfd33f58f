// One RFC 3261 17.2 server transaction (INVITE or non-INVITE).
//
// respond() may come from any thread while retransmissions and timers arrive
// on I/O threads, so the state sits behind one small mutex per transaction.
// The transaction keeps its deadlines (next retransmission, end of its
// current state, 100 Trying) and asks the layer's timer wheel (core.hpp) to
// wake it at the earliest one; a wake-up simply does whatever is due, so an
// early or repeated one is harmless. Sending happens after the mutex is released.
//
// INVITE transactions that sent a 2xx enter the RFC 6026 Accepted state: they
// absorb INVITE retransmissions for 64*T1 and hand ACKs that still match them
// to the core.
//
// Non-INVITE transactions (most of the traffic: REGISTER) never arm their
// timer while waiting for the core: they sit in the layer's DeadlineList. Once
// answered over UDP with an RFC 3261 branch they move into the layer's
// CompletedStore for Timer J (key, merge key, response bytes) and this object
// ends at once; only RFC 2543 requests, whose matching also needs the To tag
// of the request, keep the whole transaction for Timer J.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "transaction/core.hpp"

namespace cppbx::transaction {

class ServerTx final : public ServerTransaction,
                       public TimerTarget,
                       public std::enable_shared_from_this<ServerTx> {
 public:
  ServerTx(CorePtr core, std::unique_ptr<sip::Message> request, transport::Peer peer, transport::LocalEndpoint local,
           transport::Peer destination, std::string key, std::string merge_key, std::string local_tag = {});
  ~ServerTx() override;

  const sip::Message& request() const override { return *request_; }
  const transport::Peer& peer() const override { return peer_; }
  const transport::LocalEndpoint& local() const override { return local_; }
  bool respond(const sip::ResponseSpec& spec) override;
  bool respond_raw(std::string bytes, int status_code) override;
  bool respond_statelessly(const sip::ResponseSpec& spec) override;
  void drop() override;
  bool completed() const override;
  std::string_view local_tag() const override { return local_tag_; }
  bool cancelled() const override;

  // Called by the layer (I/O threads).
  void start();
  // Enters the layer's tables (retransmission and merge matching) unless the
  // transaction already ended; safe against a concurrent final response.
  void enter_tables();
  void on_retransmission();
  enum class AckOutcome { Absorbed, ToCore };
  AckOutcome on_ack();
  // Sends 487 when no final response was sent yet; true if it did.
  bool cancel();
  // For RFC 2543 matching: does `other` carry the To tag this transaction
  // expects (the request's for retransmissions, ours for the ACK)?
  bool accepts(const sip::Message& other) const;
  bool is_invite() const { return invite_; }
  // Terminates without sending anything (layer teardown).
  void abandon();
  // A non-INVITE transaction's 64*T1 passed (DeadlineList): ends silently
  // unless it was answered meanwhile.
  void on_deadline();

 private:
  enum class State { Trying, Proceeding, Completed, Confirmed, Accepted, Terminated };
  using Clock = std::chrono::steady_clock;

  // After a final response: kept for retransmissions (Timer J, compacted
  // into the CompletedStore), or gone at once.
  enum class Retention { UntilTimerJ, None };
  std::string serialize(const sip::ResponseSpec& spec) const;
  bool commit(std::string bytes, int status_code, Retention retention = Retention::UntilTimerJ);
  void on_timer_due() override;
  void arm_locked();
  void settle_pending_locked();
  void terminate_locked();
  void remove_from_tables();
  void send(std::string bytes);
  bool reliable() const { return transport::is_reliable(peer_.protocol); }
  // Moves a finished non-INVITE transaction into the CompletedStore; false
  // when it must stay whole (RFC 2543 key, or the key is stored already).
  bool compact_locked(const std::string& response, Clock::time_point now);

  CorePtr core_;
  const std::unique_ptr<const sip::Message> request_;  // never null
  const transport::Peer peer_;
  const transport::LocalEndpoint local_;
  const transport::Peer destination_;
  const std::string key_;
  const std::string merge_key_;
  const std::string local_tag_;
  const bool invite_;

  mutable std::mutex mutex_;
  State state_ = State::Trying;
  bool pending_counted_ = true;  // counted in Core::awaiting_final
  bool cancelled_ = false;
  bool compacted_ = false;  // its Timer J lives on in core_->completed
  bool in_tables_ = false;  // entered in core_->servers (and merging)
  DeadlineLink deadline_link_;
  std::string last_response_;
  Clock::time_point queued_at_ = Clock::time_point::max();  // earliest wake-up asked of the wheel
  Clock::time_point trying_at_ = Clock::time_point::max();
  Clock::time_point retransmit_at_ = Clock::time_point::max();
  Clock::time_point end_at_ = Clock::time_point::max();
  Clock::duration retransmit_interval_{};
};

}  // namespace cppbx::transaction
