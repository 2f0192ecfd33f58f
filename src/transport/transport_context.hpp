// State shared by the listeners of one TransportLayer: the user's handlers and
// the parser limits. Listeners and connections keep it alive through a
// shared_ptr, so a completion handler that runs after the layer was destroyed
// still finds valid handlers. The handlers are set before start() and never
// change afterwards, so the I/O threads read them without locking.
// Connection ids come from one counter for every stream protocol, so an id
// names one flow whatever its protocol (the locator keys flows by id alone).
#pragma once

#include <atomic>
#include <memory>
#include <utility>

#include "transport/transport.hpp"

namespace cppbx::transport {

struct TransportContext {
  TransportLayer::InboundHandler on_inbound;
  TransportLayer::ClosedHandler on_closed;
  sip::ParserLimits limits;
  std::atomic<ConnectionId> next_connection_id{1};

  ConnectionId new_connection_id() { return next_connection_id.fetch_add(1, std::memory_order_relaxed); }

  void deliver(Inbound&& inbound) const {
    if (on_inbound) on_inbound(std::move(inbound));
  }
  void closed(const Peer& peer) const {
    if (on_closed) on_closed(peer);
  }
};
using TransportContextPtr = std::shared_ptr<TransportContext>;

}  // namespace cppbx::transport
