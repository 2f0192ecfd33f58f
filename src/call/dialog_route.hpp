// What this proxy writes into its Record-Route and reads back from the Route
// of every later request of the dialog (RFC 3261 16.6 step 4, 16.12).
//
// cppbx keeps no per-dialog routing state: the Record-Route URI carries the
// two flows the dialog-creating request used (the caller's, where it came
// from, and the callee's, where it went: the registered TCP/TLS/WS connection
// or the UDP source address after NAT), the caller's From tag to tell the
// direction of a later request, and an HMAC over those and the Call-ID.
// A request whose top Route is ours with a valid MAC is an in-dialog request
// of a call we routed: it needs no new authentication (the INVITE had it) and
// it goes over the recorded flow of the other side, so phones behind NAT and
// phones on connection-oriented transports get their in-dialog requests. A
// forged or altered token fails the MAC, so the proxy cannot be used as an
// open relay by writing a Route header.
//
// The flow token is "<p>~<address>~<port>~<connection>" with p one of u, t,
// s (TLS), w (WS), x (WSS): only characters a URI parameter may hold.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sip/uri.hpp"
#include "transport/transport.hpp"

namespace cppbx::call {

std::string flow_token(const transport::Peer& peer);
std::optional<transport::Peer> parse_flow_token(std::string_view token);

struct DialogRoute {
  std::string caller_tag;        // From tag of the dialog-creating request
  transport::Peer caller_flow;   // where that request came from
  transport::Peer callee_flow;   // where it was sent

  // The flow a request of this dialog goes to: the callee's when the caller
  // sent it (its From tag is the caller's), else the caller's.
  const transport::Peer& toward(std::string_view request_from_tag) const {
    return request_from_tag == caller_tag ? callee_flow : caller_flow;
  }
};

class DialogRouteSigner {
 public:
  // An empty secret is replaced by a random one (dialogs then do not outlive
  // the process, like digest nonces).
  explicit DialogRouteSigner(std::string_view secret);

  // URI parameters (without a leading ';') of our Record-Route entries.
  std::string parameters(std::string_view call_id, const DialogRoute& route) const;
  // The route a Record-Route URI of ours carries, if its MAC is right.
  std::optional<DialogRoute> verify(std::string_view call_id, const sip::Uri& uri) const;

  // Relays between nodes sharing a locator (keyed with the cluster secret):
  // the parameters of the Route a node puts on a request it hands to the
  // node holding the callee's flow, and, on that node, the flow they name
  // when the MAC over Call-ID, flow and Request-URI is right.
  std::string relay_parameters(std::string_view call_id, const transport::Peer& flow,
                               std::string_view request_uri) const;
  std::optional<transport::Peer> verify_relay(std::string_view call_id, const sip::Uri& uri,
                                              std::string_view request_uri) const;

 private:
  std::string mac(std::string_view call_id, std::string_view tag, std::string_view caller,
                  std::string_view callee) const;
  std::string key_;
};

// "<sip:host:port;transport=tcp;lr;PARAMS>" for a Record-Route facing a flow
// of `protocol` (no transport parameter for UDP; sips: for TLS/WSS).
std::string record_route_value(std::string_view host, uint16_t port, transport::Protocol protocol,
                               std::string_view params);

}  // namespace cppbx::call
