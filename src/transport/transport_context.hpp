// State shared by the listeners of one TransportLayer: the user's handlers and
// the parser limits. Listeners and connections keep it alive through a
// shared_ptr, so a completion handler that runs after the layer was destroyed
// still finds valid handlers. The handlers are set before start() and never
// change afterwards, so the I/O threads read them without locking.
#pragma once

#include <memory>
#include <utility>

#include "transport/transport.hpp"

namespace cppbx::transport {

struct TransportContext {
  TransportLayer::InboundHandler on_inbound;
  TransportLayer::ClosedHandler on_closed;
  sip::ParserLimits limits;

  void deliver(Inbound&& inbound) const {
    if (on_inbound) on_inbound(std::move(inbound));
  }
  void closed(const Peer& peer) const {
    if (on_closed) on_closed(peer);
  }
};
using TransportContextPtr = std::shared_ptr<TransportContext>;

}  // namespace cppbx::transport
