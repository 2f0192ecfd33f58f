// Small value helpers of the transport interface: protocol names and the
// textual form of a Peer used in logs and in location bindings.
#include <array>
#include <charconv>
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

void append_address(std::string& out, const boost::asio::ip::address& address) {
  if (!address.is_v4()) {
    out += address.to_string();
    return;
  }
  auto bytes = address.to_v4().to_bytes();
  std::array<char, 15> text{};  // "255.255.255.255"
  size_t length = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) text[length++] = '.';
    unsigned octet = bytes[i];
    if (octet >= 100) text[length++] = static_cast<char>('0' + octet / 100);
    if (octet >= 10) text[length++] = static_cast<char>('0' + octet / 10 % 10);
    text[length++] = static_cast<char>('0' + octet % 10);
  }
  out.append(text.data(), length);
}

std::string Peer::to_string() const {
  std::string text;
  text.reserve(32);
  text += protocol_name(protocol);
  text += ':';
  if (address.is_v6()) {
    text += '[';
    append_address(text, address);
    text += ']';
  } else {
    append_address(text, address);
  }
  text += ':';
  char digits[8];
  text.append(digits, std::to_chars(digits, digits + sizeof digits, port).ptr);
  return text;
}

}  // namespace cppbx::transport
