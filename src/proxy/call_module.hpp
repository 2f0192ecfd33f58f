// Module "call": routes requests between registered users as a stateful
// proxy (RFC 3261 16), after acl and auth.
//
// Decisions (where the RFCs leave a choice):
// - Dialog-creating and standalone requests (INVITE, MESSAGE, SUBSCRIBE,
//   REFER, OPTIONS, NOTIFY, PUBLISH) for a user of a local domain need an
//   authenticated caller (the auth module's 407) who is registered, unless
//   the user has allow_guest_calls. Not registered: 403 "Caller Not
//   Registered". Other methods without a To tag (BYE, PRACK, UPDATE, INFO)
//   get 481.
// - Callee lookup: bindings found -> parallel fork to each (call/fork.hpp)
//   over the flow it registered on (the same TCP/TLS/WS connection, or the
//   UDP source address and port), with its Path as Route. No binding: the
//   user backends are asked whether the user exists: 480 if so, 404 if not
//   (nothing at all with ensure_user). A store or backend that cannot
//   answer: 503 with Retry-After.
// - A binding held by another node (shared locator, another home_proxy) is
//   reached through that node: the request goes to its home_proxy with a
//   Route naming the binding's flow there, signed with proxy.cluster_secret;
//   the home node trusts a request whose Route verifies (no new challenge,
//   the first node authenticated the caller) and sends it over that flow.
//   Without a cluster secret such bindings are skipped with a log line.
// - Route entries naming this proxy are removed (16.4); an initial request
//   that still names another hop is refused 403 "Relaying Forbidden": this
//   PBX routes to its own users only.
// - In-dialog requests (To tag) are routed by the signed Record-Route of
//   call/dialog_route.hpp, without a new challenge; one without a valid
//   route of ours gets 481 (it is not a dialog this proxy routed).
// - ACK for a 2xx and 2xx retransmissions come outside any transaction
//   (on_stray) and are forwarded statelessly.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "call/call_tracker.hpp"
#include "call/dialog_route.hpp"
#include "call/fork.hpp"
#include "call/local_addresses.hpp"
#include "config/config.hpp"
#include "location/locator.hpp"
#include "proxy/module.hpp"
#include "proxy/server_identity.hpp"
#include "users/user_backend.hpp"

namespace cppbx::proxy {

struct CallModuleOptions {
  bool ensure_user = false;
  uint32_t retry_after_seconds = 5;
  std::chrono::milliseconds timer_c{std::chrono::minutes(3)};
  std::string route_secret;  // empty: random per process
  std::string cluster_secret;  // empty: bindings held by other nodes are not reached
  call::CallTrackerOptions records;
  static CallModuleOptions from(const config::ProxyConfig& config);
};

// What the call module needs from the layers below it; they exist only once
// the server built its transport and transaction layers, after the modules.
struct CallNetwork {
  transaction::TransactionLayer& transactions;
  transport::TransportLayer& transport;
  boost::asio::io_context& io;
  call::LocalAddresses addresses;
  std::string home_proxy;  // this node, as shared locators record it
  std::shared_ptr<call::CallRecordSink> records;  // null: records are not kept
};

class CallModule final : public Module {
 public:
  CallModule(std::shared_ptr<users::UserBackend> users, std::shared_ptr<location::Locator> locator,
             std::shared_ptr<const ServerIdentity> identity, CallModuleOptions options);
  ~CallModule() override;

  // Must be called before the first request arrives.
  void attach(CallNetwork network);

  std::string_view name() const override { return "call"; }
  void handle(RequestContextPtr context, Next next) override;

  // ACK for 2xx and responses matching no client transaction.
  void on_stray(transport::Inbound&& inbound);
  // The caller's CANCEL matched an INVITE server transaction.
  void on_cancel(const transaction::ServerTransactionPtr& invite);

  size_t active_calls() const;
  // True for a request another node relayed with a valid cluster signature
  // (the auth module lets it through).
  bool is_trusted_relay(const sip::Message& request) const;

  struct Shared;  // what asynchronous callbacks hold

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace cppbx::proxy
