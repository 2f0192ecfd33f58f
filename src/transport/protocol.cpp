// Small value helpers of the transport interface: protocol names and the
// textual form of a Peer used in logs and in location bindings.
#include <string>

#include "transport/transport.hpp"

namespace cppbx::transport {

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::Udp: return "udp";
    case Protocol::Tcp: return "tcp";
    case Protocol::Tls: return "tls";
    case Protocol::Ws: return "ws";
    case Protocol::Wss: return "wss";
  }
  return "udp";
}

std::string_view via_transport(Protocol p) {
  switch (p) {
    case Protocol::Udp: return "UDP";
    case Protocol::Tcp: return "TCP";
    case Protocol::Tls: return "TLS";
    case Protocol::Ws: return "WS";
    case Protocol::Wss: return "WSS";
  }
  return "UDP";
}

bool is_reliable(Protocol p) { return p != Protocol::Udp; }

std::string Peer::to_string() const {
  std::string text(protocol_name(protocol));
  text += ':';
  if (address.is_v6()) {
    text += '[';
    text += address.to_string();
    text += ']';
  } else {
    text += address.to_string();
  }
  text += ':';
  text += std::to_string(port);
  return text;
}

}  // namespace cppbx::transport
