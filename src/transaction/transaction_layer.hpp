// RFC 3261 section 17: server and client transactions.
//
// Server transactions absorb retransmissions (the last response is resent from
// the transaction) and run timers G, H, I (INVITE) and J (non-INVITE). Client
// transactions run timers A, B, D, E, F, K. Requests that match no transaction
// and are not ACKs reach the RequestHandler exactly once. A request without a
// To tag that matches an ongoing transaction by From tag, Call-ID and CSeq but
// not by branch is a merged request and is answered 482 here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "sip/builder.hpp"
#include "sip/message.hpp"
#include "transport/transport.hpp"

namespace cppbx::transaction {

struct Timers {
  std::chrono::milliseconds t1{500};
  std::chrono::milliseconds t2{4000};
  std::chrono::milliseconds t4{5000};
};

class ServerTransaction {
 public:
  virtual ~ServerTransaction() = default;
  virtual const sip::Message& request() const = 0;
  virtual const transport::Peer& peer() const = 0;
  virtual const transport::LocalEndpoint& local() const = 0;
  // Thread-safe, callable from any thread. Provisional responses may be sent
  // several times; the first final response completes the transaction and
  // later calls are ignored. Returns false if it was ignored.
  virtual bool respond(const sip::ResponseSpec& spec) = 0;
  virtual bool respond_raw(std::string bytes, int status_code) = 0;
  // A final response after which nothing of a non-INVITE transaction is
  // kept (RFC 3261 8.2.7: a UAS may challenge statelessly). A retransmitted
  // request then counts as new and gets a fresh answer, and requests
  // without credentials, a scanner's flood included, hold no transaction
  // memory for Timer J. An INVITE keeps its transaction, whose ACK must be
  // absorbed.
  virtual bool respond_statelessly(const sip::ResponseSpec& spec) { return respond(spec); }
  // Completes the transaction without sending anything (silence for scanners).
  virtual void drop() = 0;
  virtual bool completed() const = 0;
  // The To tag this transaction uses for its responses (generated once).
  virtual std::string_view local_tag() const = 0;
  // True once a CANCEL matched this (INVITE) transaction.
  virtual bool cancelled() const { return false; }
};
using ServerTransactionPtr = std::shared_ptr<ServerTransaction>;

struct ClientResult {
  enum class Kind { Response, Timeout, TransportError } kind = Kind::Timeout;
  std::shared_ptr<const sip::Message> response;  // for Kind::Response
};

// Something the layer wakes at (or one timer tick after) a deadline it asked
// for. Never unscheduled: a target woken early, twice or after it ended
// checks its own deadlines and does nothing.
class TimerTarget {
 public:
  virtual ~TimerTarget() = default;
  // Runs on the layer's timer thread (the io_context's).
  virtual void on_timer_due() = 0;
};

class ClientTransaction {
 public:
  virtual ~ClientTransaction() = default;
  virtual std::string_view branch() const = 0;
  virtual void cancel_timers() = 0;
};
using ClientTransactionPtr = std::shared_ptr<ClientTransaction>;

class TransactionLayer {
 public:
  struct Options {
    Timers timers;
    std::string server_header;   // Server header for responses sent here; empty: none
    size_t max_transactions = 100000;  // awaiting a final response; beyond: 503 with Retry-After
    size_t max_transaction_table = 2000000;  // all server transactions, incl. finished ones in Timer J/I
    // A server INVITE transaction the core leaves without a final response for
    // this long is answered 408 so that it cannot live forever. (A non-INVITE
    // one is dropped silently after 64*T1, when its client gave up anyway.)
    std::chrono::milliseconds invite_timeout{std::chrono::minutes(5)};
    // INVITE server transactions send 100 Trying when the core has not
    // responded within this delay (RFC 3261 17.2.1).
    std::chrono::milliseconds trying_delay{200};
  };
  using RequestHandler = std::function<void(ServerTransactionPtr)>;
  // ACK for a 2xx, and responses matching no client transaction (proxy core).
  using StrayHandler = std::function<void(transport::Inbound&&)>;
  // Provisional and final responses of a client transaction; called on an I/O
  // thread, possibly several times (1xx) and then once with the final result.
  using ResponseHandler = std::function<void(const ClientResult&)>;
  // An INVITE server transaction was cancelled (after this layer answered the
  // CANCEL with 200 and the INVITE with 487): the proxy core cancels its
  // branches. Called on an I/O thread.
  using CancelHandler = std::function<void(ServerTransactionPtr invite)>;

  virtual ~TransactionLayer() = default;
  virtual void set_request_handler(RequestHandler handler) = 0;
  virtual void set_stray_handler(StrayHandler handler) = 0;
  virtual void set_cancel_handler(CancelHandler) {}

  // Feed from the transport layer. Malformed requests that can be answered get
  // 400/505/416/513 here, statelessly; the rest are dropped.
  virtual void on_inbound(transport::Inbound&& inbound) = 0;

  // Sends `request` (already serialized, its top Via carrying `branch`).
  virtual ClientTransactionPtr send_request(const transport::Peer& to, sip::Method method,
                                            std::string branch, std::string bytes,
                                            ResponseHandler on_response) = 0;

  // Wakes `target` at `when` unless it is gone by then; callable from any
  // thread. Costs a push under a short lock, no Asio timer of its own.
  virtual void schedule(std::chrono::steady_clock::time_point when, std::weak_ptr<TimerTarget> target) = 0;

  virtual size_t server_transaction_count() const = 0;
  virtual size_t client_transaction_count() const = 0;
  // Messages dropped because they were malformed and could not be answered.
  virtual size_t dropped_count() const { return 0; }
  // Stop accepting new requests; resolves once in-flight server transactions
  // completed or `grace` elapsed.
  virtual void shutdown(std::chrono::milliseconds grace, std::function<void()> done) = 0;
};

std::unique_ptr<TransactionLayer> make_transaction_layer(boost::asio::io_context& io,
                                                         transport::TransportLayer& transport,
                                                         TransactionLayer::Options options);

// Where a response to this request goes: back over the request's connection
// for connection-oriented transports; for UDP the source address and port when
// the top Via has rport (RFC 3581), else the source address with the Via port
// or 5060 (RFC 3261 18.2.2, the source being what "received" would hold).
transport::Peer response_destination(const transport::Inbound& request);

// build_response() whose top Via tells the client where the server saw the
// request (RFC 3581): a value-less "rport" gets the source port, and
// "received" the source address when rport asks for it or the sent-by is not
// the source (RFC 3261 18.2.1). Sets `spec`'s top-Via insertion.
std::string build_stamped_response(const sip::Message& request, const transport::Peer& source,
                                   sip::ResponseSpec& spec);

// A new RFC 3261 branch ("z9hG4bK" + random) and tag.
std::string new_branch();
std::string new_tag();

}  // namespace cppbx::transaction
