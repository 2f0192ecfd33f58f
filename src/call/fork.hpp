// The stateful part of the proxy (RFC 3261 16.6-16.10): one Fork per request
// forwarded, with one client transaction per target, sent in parallel.
//
// - INVITE: 100 Trying at once; provisional responses forwarded (Timer C
//   restarted by each); the first 2xx forwarded at once and every other
//   branch cancelled (CANCEL to branches that answered provisionally, the
//   others cancelled as soon as they do); later 2xx forwarded too (16.7
//   step 5); a 6xx cancels the rest and is forwarded at once; otherwise,
//   when every branch ended, the best final (16.7 step 6: 6xx, else the
//   lowest class, 401/407/415/420/484 preferred within it, 503 sent as 500,
//   408 when no branch answered). Timer C (default 3 min) cancels the
//   branches and answers 408.
// - CANCEL from the caller (the transaction layer already answered it 200
//   and the INVITE 487): every branch is cancelled.
// - Other methods: the same without CANCEL, Timer C or 100.
//
// Each Fork lives as long as one of its client transactions can still call
// back; the registry (Forks) maps server transactions to live forks for
// CANCEL.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "call/dialog_route.hpp"
#include "call/local_addresses.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::call {

// One destination of a forwarded request.
struct Target {
  std::string request_uri;          // empty: keep the received one (in-dialog)
  std::vector<std::string> routes;  // Route values to add on top (a binding's Path)
  transport::Peer flow;             // where the request goes
  std::string contact;              // the binding it stands for (call records)
};

// What a fork tells about its progress (call records). Called on I/O threads.
class ForkObserver {
 public:
  virtual ~ForkObserver() = default;
  virtual void on_ringing(const sip::Message& response) = 0;
  virtual void on_answered(const sip::Message& response, const Target& target) = 0;
  // The final answer the caller got when it was not a 2xx (408 when a
  // timer ended the fork, 487 when the caller cancelled).
  virtual void on_failed(int status_code, bool cancelled_by_caller) = 0;
};

class ForkRegistry;

struct ForkEnvironment {
  transaction::TransactionLayer& transactions;
  ForkRegistry& registry;
  boost::asio::io_context& io;
  const LocalAddresses& addresses;
  const DialogRouteSigner& signer;
  std::chrono::milliseconds timer_c{std::chrono::minutes(3)};
};

class Fork : public std::enable_shared_from_this<Fork> {
 public:
  struct Options {
    bool record_route = false;  // dialog-creating requests
    size_t own_routes = 0;      // top Route values naming this proxy, removed
    std::shared_ptr<ForkObserver> observer;
  };

  Fork(std::shared_ptr<ForkEnvironment> environment, transaction::ServerTransactionPtr server,
       Options options);
  ~Fork();

  // Sends the request to every target (at least one).
  void start(std::vector<Target> targets);
  // The caller's CANCEL matched this fork's INVITE.
  void cancel_by_caller();
  const transaction::ServerTransactionPtr& server() const { return server_; }

 private:
  struct Branch;
  void send_branch(Branch& branch);
  std::string build_request(const Branch& branch) const;
  std::string build_cancel(const Branch& branch) const;
  void on_branch_result(size_t index, const transaction::ClientResult& result);
  void on_provisional(Branch& branch, const sip::Message& response, std::vector<std::string>& cancels);
  void on_final(Branch& branch, std::shared_ptr<const sip::Message> response, int code,
                std::vector<std::string>& cancels);
  void cancel_pending_locked(std::vector<std::string>& cancels);
  void send_cancels(std::vector<std::string> cancels);
  void finish_if_done_locked();
  void answer_caller(int code);
  void forward_to_caller(const sip::Message& response);
  void arm_timer_c_locked();
  void on_timer_c_due();
  void fire_timer_c_locked(std::vector<std::string>& cancels);
  struct TimerC;

  std::shared_ptr<ForkEnvironment> environment_;
  transaction::ServerTransactionPtr server_;
  Options options_;
  const bool invite_;
  std::string caller_via_;  // the caller's top Via with received/rport filled in

  std::mutex mutex_;
  std::vector<std::unique_ptr<Branch>> branches_;
  bool final_sent_ = false;
  bool cancelling_ = false;
  bool cancelled_by_caller_ = false;
  std::shared_ptr<const sip::Message> best_;
  int best_code_ = 0;
  // Timer C: its deadline, moved on by each provisional response, and the
  // earliest wake-up asked of the transaction layer's timer wheel.
  std::shared_ptr<TimerC> timer_c_;
  std::chrono::steady_clock::time_point timer_c_at_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point timer_c_queued_at_ = std::chrono::steady_clock::time_point::max();
};
using ForkPtr = std::shared_ptr<Fork>;

// Live INVITE forks by server transaction, for the caller's CANCEL.
class ForkRegistry {
 public:
  void add(const ForkPtr& fork);
  void remove(const transaction::ServerTransaction* server);
  ForkPtr find(const transaction::ServerTransaction* server) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const transaction::ServerTransaction*, std::weak_ptr<Fork>> forks_;
};

// Ranks final responses as RFC 3261 16.7 step 6 does: true when `candidate`
// should replace `current` as the best so far.
bool better_final(int candidate, int current);

}  // namespace cppbx::call
