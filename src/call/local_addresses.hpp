// How this proxy names itself in the messages it forwards: the host it
// writes into Via and Record-Route, the port of each listener, and whether a
// Route URI points at itself (RFC 3261 16.4: such entries are removed).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "sip/headers.hpp"
#include "sip/uri.hpp"
#include "transport/transport.hpp"

namespace cppbx::call {

struct LocalAddresses {
  std::string host;  // advertised host; IPv6 in brackets
  // Listening port for a protocol; 0 when there is no such listener.
  std::function<uint16_t(transport::Protocol)> port_for;
  // True when a host names this server (own address, localhost, a realm).
  std::function<bool(std::string_view host)> is_local_host;

  // A Route/Record-Route URI naming this server: a local host, and no port
  // or the port of one of our listeners.
  bool is_own(const sip::Uri& uri) const;
  // "SIP/2.0/UDP host:port;branch=...;rport"
  std::string via(transport::Protocol protocol, std::string_view branch) const;
};

// The caller's top Via as the forwarded request carries it: `received` and
// the `rport` value filled in (RFC 3261 18.2.1, RFC 3581 4).
std::string via_with_source(const sip::Via& via, const transport::Peer& source);

// Where a response goes by its top Via (after ours was removed): received
// and rport when present, else the sent-by host and port (RFC 3261 18.2.2).
// Over a reliable transport the connection is found by the transport layer
// from the address. nullopt when the host is not an IP address.
std::optional<transport::Peer> response_peer_from_via(const sip::Via& via);

// An IP address written as a URI host ("192.0.2.1", "[2001:db8::1]");
// nullopt for a name.
std::optional<boost::asio::ip::address> host_address(std::string_view host);

// The protocol a Via transport names ("UDP", "TCP", "TLS", "WS", "WSS").
std::optional<transport::Protocol> protocol_from_via(std::string_view transport);

}  // namespace cppbx::call
