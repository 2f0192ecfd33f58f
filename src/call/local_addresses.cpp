#include "call/local_addresses.hpp"

#include "common/strings.hpp"

namespace cppbx::call {
std::optional<boost::asio::ip::address> host_address(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(std::string(host), error);
  if (error) return std::nullopt;
  return address;
}

bool LocalAddresses::is_own(const sip::Uri& uri) const {
  if (!is_local_host || !is_local_host(uri.host)) return false;
  if (uri.port == 0) return true;
  for (auto protocol : {transport::Protocol::Udp, transport::Protocol::Tcp, transport::Protocol::Tls,
                        transport::Protocol::Ws, transport::Protocol::Wss}) {
    if (port_for && port_for(protocol) == uri.port) return true;
  }
  return false;
}

std::string LocalAddresses::via(transport::Protocol protocol, std::string_view branch) const {
  std::string value = "SIP/2.0/";
  value += transport::via_transport(protocol);
  value += ' ';
  value += host;
  uint16_t port = port_for ? port_for(protocol) : 0;
  if (port != 0) {
    value += ':';
    value += std::to_string(port);
  }
  value += ";branch=";
  value += branch;
  value += ";rport";
  return value;
}

std::string via_with_source(const sip::Via& via, const transport::Peer& source) {
  std::string address;
  transport::append_address(address, source.address);
  std::string value(via.text);
  if (via.has_rport && !via.rport) {
    // ";rport" without a value: give it the source port.
    std::string_view text = via.text;
    size_t at = 0;
    while ((at = text.find(";rport", at)) != std::string_view::npos) {
      size_t end = at + 6;
      if (end == text.size() || text[end] == ';') {
        value = std::string(text.substr(0, end));
        value += '=';
        value += std::to_string(source.port);
        value += text.substr(end);
        break;
      }
      at = end;
    }
  }
  auto sent_by = host_address(via.host);
  if (!via.received && (via.has_rport || !sent_by || *sent_by != source.address)) {
    value += ";received=" + address;
  }
  return value;
}

std::optional<transport::Protocol> protocol_from_via(std::string_view transport) {
  if (iequals(transport, "UDP")) return transport::Protocol::Udp;
  if (iequals(transport, "TCP")) return transport::Protocol::Tcp;
  if (iequals(transport, "TLS")) return transport::Protocol::Tls;
  if (iequals(transport, "WS")) return transport::Protocol::Ws;
  if (iequals(transport, "WSS")) return transport::Protocol::Wss;
  return std::nullopt;
}

std::optional<transport::Peer> response_peer_from_via(const sip::Via& via) {
  auto protocol = protocol_from_via(via.transport);
  if (!protocol) return std::nullopt;
  auto address = host_address(via.received ? *via.received : via.host);
  if (!address) return std::nullopt;
  transport::Peer peer;
  peer.protocol = *protocol;
  peer.address = *address;
  peer.port = via.rport ? *via.rport : (via.port != 0 ? via.port : 5060);
  if (!via.rport && via.port == 0 && (*protocol == transport::Protocol::Tls)) peer.port = 5061;
  return peer;
}

}  // namespace cppbx::call
