// The transaction layer's dispatcher: every inbound message from the
// transport goes through on_inbound() on an I/O thread and is either absorbed
// by a transaction, answered statelessly (malformed, merged, overload,
// shutdown, unmatched CANCEL), or handed to the core exactly once (new
// requests; ACKs for 2xx and stray responses). The order of checks follows
// RFC 3261 17.2.3, 9.2 and 8.2.2.2.
#include <array>
#include <memory>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transaction/client_transaction.hpp"
#include "transaction/core.hpp"
#include "transaction/server_transaction.hpp"
#include "transaction/transaction_keys.hpp"

namespace cppbx::transaction {

namespace {

constexpr std::string_view kRetryAfterSeconds = "5";

int status_for(sip::ParseStatus status) {
  switch (status) {
    case sip::ParseStatus::VersionUnsupported: return 505;
    case sip::ParseStatus::SchemeUnsupported: return 416;
    case sip::ParseStatus::TooLarge: return 513;
    case sip::ParseStatus::Malformed:
    case sip::ParseStatus::Ok: break;
  }
  return 400;
}

class Layer final : public TransactionLayer {
 public:
  Layer(boost::asio::io_context& io, transport::TransportLayer& transport, Options options)
      : core_(std::make_shared<Core>(io, transport, std::move(options))) {}

  ~Layer() override {
    // Break the Core <-> transaction cycles and stop every timer.
    core_->stop_housekeeping();
    for (auto& server : core_->servers.values()) server->abandon();
    for (auto& client : core_->clients.values()) client->abandon();
    core_->servers.clear();
    core_->merging.clear();
    core_->clients.clear();
    core_->completed.clear();
  }

  void set_request_handler(RequestHandler handler) override { core_->on_request = std::move(handler); }
  void set_stray_handler(StrayHandler handler) override { core_->on_stray = std::move(handler); }
  void set_cancel_handler(CancelHandler handler) override { core_->on_cancel = std::move(handler); }

  void on_inbound(transport::Inbound&& inbound) override {
    const sip::ParseResult& parsed = inbound.parsed;
    if (parsed.status != sip::ParseStatus::Ok || !parsed.message) {
      on_malformed(inbound);
    } else if (parsed.message->is_response()) {
      on_response(std::move(inbound));
    } else {
      on_request(std::move(inbound));
    }
  }

  ClientTransactionPtr send_request(const transport::Peer& to, sip::Method method, std::string branch,
                                    std::string bytes, ResponseHandler on_response) override {
    std::string key;
    client_key(branch, method_name(method), key);
    auto tx = std::make_shared<ClientTx>(core_, to, method, std::move(branch), std::move(bytes),
                                         std::move(on_response), key);
    if (!core_->clients.insert(key, tx).second) {
      // Same branch and method twice: the caller's bug; report it as a failure.
      boost::asio::post(core_->io, [tx] { tx->cancel_timers(); });
      return tx;
    }
    tx->start();
    return tx;
  }

  void schedule(std::chrono::steady_clock::time_point when, std::weak_ptr<TimerTarget> target) override {
    core_->schedule(when, std::move(target));
  }

  size_t server_transaction_count() const override { return server_table_size(); }
  size_t client_transaction_count() const override { return core_->clients.size(); }
  size_t dropped_count() const override { return core_->dropped.load(std::memory_order_relaxed); }

  void shutdown(std::chrono::milliseconds grace, std::function<void()> done) override {
    core_->shutting_down = true;
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto timer = std::make_shared<boost::asio::steady_timer>(core_->io);
    auto waiter = std::make_shared<std::function<void()>>();
    // Polls rather than signalling from every transaction: shutdown is rare and
    // this keeps the per-transaction path free of it.
    *waiter = [core = core_, deadline, timer, done = std::move(done), weak = std::weak_ptr(waiter)] {
      auto now = std::chrono::steady_clock::now();
      if (core->awaiting_final.load() == 0 || now >= deadline) {
        if (done) done();
        return;
      }
      timer->expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(10),
                                                                         deadline - now));
      timer->async_wait([self = weak.lock()](const boost::system::error_code&) {
        if (self) (*self)();
      });
    };
    boost::asio::post(core_->io, [waiter] { (*waiter)(); });
  }

 private:
  // Live transactions plus the finished ones kept compactly for Timer J.
  size_t server_table_size() const { return core_->servers.size() + core_->completed.size(); }

  // A retransmission of a request whose transaction finished (Timer J): the
  // stored final response goes out again; a dropped one stays silent.
  bool resent_from_completed(std::string_view key) {
    thread_local std::string response;
    transport::Peer destination;
    if (!core_->completed.find(key, response, destination)) return false;
    if (!response.empty()) core_->transport.send(destination, response);
    return true;
  }

  void on_malformed(const transport::Inbound& inbound) {
    const sip::ParseResult& parsed = inbound.parsed;
    bool answerable = parsed.can_respond && parsed.message && parsed.message->is_request() &&
                      parsed.message->method() != sip::Method::Ack;
    if (!answerable) {
      core_->dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int code = status_for(parsed.status);
    std::string_view reason = code == 400 ? std::string_view(parsed.reason) : std::string_view{};
    core_->respond_statelessly(inbound, code, reason);
  }

  void on_response(transport::Inbound&& inbound) {
    const sip::Message& response = *inbound.parsed.message;
    std::string& key = scratch_key();
    client_key(response.top_via().branch, response.cseq().method, key);
    if (auto tx = core_->clients.find(key)) {
      tx->on_response(std::move(inbound));
    } else {
      to_core_as_stray(std::move(inbound));
    }
  }

  void on_request(transport::Inbound&& inbound) {
    const sip::Message& request = *inbound.parsed.message;
    std::string& key = scratch_key();
    server_key(request, matching_method(request), key);
    std::shared_ptr<ServerTx> tx = core_->servers.find(key);
    if (tx && !tx->accepts(request)) tx.reset();

    if (request.method() == sip::Method::Ack) {
      if (tx && tx->on_ack() == ServerTx::AckOutcome::Absorbed) return;
      to_core_as_stray(std::move(inbound));  // ACK for a 2xx
      return;
    }
    if (tx) {
      tx->on_retransmission();
      return;
    }
    if (resent_from_completed(key)) return;
    if (request.method() == sip::Method::Cancel) {
      on_cancel(std::move(inbound));
      return;
    }
    if (core_->shutting_down) {
      std::array<sip::HeaderField, 1> retry{{{"Retry-After", kRetryAfterSeconds}}};
      core_->respond_statelessly(inbound, 503, "Shutting Down", retry);
      return;
    }
    // max_transactions bounds the work in progress (requests still waiting
    // for their final response); finished transactions that only absorb
    // retransmissions are bounded separately, so a burst of quick answers
    // does not lock out new requests for the 32 s of Timer J.
    if (core_->awaiting_final.load(std::memory_order_relaxed) >= core_->options.max_transactions ||
        server_table_size() >= core_->options.max_transaction_table) {
      std::array<sip::HeaderField, 1> retry{{{"Retry-After", kRetryAfterSeconds}}};
      core_->respond_statelessly(inbound, 503, {}, retry);
      return;
    }
    std::string merge;
    if (request.to().tag().empty()) {
      merge_key(request, merge);
      if (core_->merging.find(merge) || core_->completed.contains_merge_key(merge)) {
        core_->respond_statelessly(inbound, 482, {});
        return;
      }
    }
    start_transaction(std::move(inbound), std::string(key), std::move(merge));
  }

  void start_transaction(transport::Inbound&& inbound, std::string key, std::string merge) {
    transport::Peer destination = response_destination(inbound);
    auto tx = std::make_shared<ServerTx>(core_, std::move(inbound.parsed.message), inbound.peer,
                                         inbound.local, destination, key, merge);
    tx->start();
    if (core_->on_request) {
      core_->on_request(tx);
    }
    // Most requests are answered before on_request returns (challenges,
    // users held in memory); those never need the tables: a retransmission
    // comes over the same socket or connection, so it is read by this thread
    // after we return and finds the answer in the CompletedStore. Only a
    // transaction still waiting (an asynchronous lookup) or one that lives
    // on whole (INVITE) is entered, before this thread reads anything else.
    tx->enter_tables();
  }

  void on_cancel(transport::Inbound&& inbound) {
    const sip::Message& cancel = *inbound.parsed.message;
    std::string& key = scratch_key();
    server_key(cancel, "INVITE", key);
    std::shared_ptr<ServerTx> invite = core_->servers.find(key);
    if (!invite || !invite->is_invite()) {
      core_->respond_statelessly(inbound, 481, {});
      return;
    }
    // The CANCEL is a transaction of its own, so that its retransmissions get
    // the same 200 again; its To tag is the INVITE's (RFC 3261 9.2).
    server_key(cancel, cancel.method_text(), key);
    transport::Peer destination = response_destination(inbound);
    auto cancel_tx = std::make_shared<ServerTx>(core_, std::move(inbound.parsed.message), inbound.peer,
                                                inbound.local, destination, key, std::string{},
                                                std::string(invite->local_tag()));
    auto [stored, inserted] = core_->servers.insert(key, cancel_tx);
    if (!inserted) {
      stored->on_retransmission();
      cancel_tx->abandon();
      return;
    }
    cancel_tx->start();
    cancel_tx->respond_raw(core_->build_own_response(cancel_tx->request(), cancel_tx->peer(), 200, {},
                                                     cancel_tx->local_tag()),
                           200);
    if (invite->cancel() && core_->on_cancel) core_->on_cancel(invite);
  }

  void to_core_as_stray(transport::Inbound&& inbound) {
    if (core_->on_stray) core_->on_stray(std::move(inbound));
  }

  CorePtr core_;
};

}  // namespace

std::unique_ptr<TransactionLayer> make_transaction_layer(boost::asio::io_context& io,
                                                         transport::TransportLayer& transport,
                                                         TransactionLayer::Options options) {
  return std::make_unique<Layer>(io, transport, std::move(options));
}

}  // namespace cppbx::transaction
