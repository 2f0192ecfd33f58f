// The transport layer: sockets in, parsed messages out, bytes back.
//
// UDP listeners are SO_REUSEPORT sockets, one per I/O thread; TCP and TLS
// connections are framed by Content-Length, WebSocket ones (RFC 7118) carry
// one message per WebSocket message; every flow is answered on the connection
// a request came on. Callers only ever see a Peer: its protocol picks the
// transport and its connection id the flow.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include "sip/parser.hpp"

namespace cppbx::transport {

enum class Protocol : uint8_t { Udp, Tcp, Tls, Ws, Wss };
std::string_view protocol_name(Protocol p);   // "udp", "tcp", ...
std::string_view via_transport(Protocol p);   // "UDP", "TCP", ...
bool is_reliable(Protocol p);

// 0 means "no connection" (datagram transports).
using ConnectionId = uint64_t;

// The other end of a message: where a request came from, where a response or
// request goes. For connection-oriented protocols `connection` names the flow
// the phone opened; sending on a Peer with a connection uses that connection.
struct Peer {
  Protocol protocol = Protocol::Udp;
  boost::asio::ip::address address;
  uint16_t port = 0;
  ConnectionId connection = 0;
  std::string to_string() const;  // "udp:192.0.2.1:5060", "tcp:[::1]:5070"
};

// Appends the textual form of `address` (IPv6 without brackets), as
// address.to_string() would, but without its inet_ntop/sprintf round trip
// for IPv4, which costs more than parsing a SIP header.
void append_address(std::string& out, const boost::asio::ip::address& address);

// The local listener a message arrived on.
struct LocalEndpoint {
  Protocol protocol = Protocol::Udp;
  boost::asio::ip::address address;
  uint16_t port = 0;
};

class WebSocketHandover;  // transport/websocket_handover.hpp

struct Inbound {
  sip::ParseResult parsed;  // may hold an error (see sip::ParseResult)
  Peer peer;
  LocalEndpoint local;
  size_t size = 0;          // bytes on the wire
};

class TransportLayer {
 public:
  struct Options {
    std::string address = "0.0.0.0";
    uint16_t udp_port = 5060;  // 0 disables UDP (unless ephemeral_ports)
    uint16_t tcp_port = 5060;  // 0 disables TCP (unless ephemeral_ports)
    // Idle timeout and connection cap of every stream listener (TCP, TLS and
    // WebSocket, each counted apart).
    std::chrono::seconds tcp_idle_timeout{600};
    size_t max_tcp_connections = 10000;
    sip::ParserLimits limits;
    // One SO_REUSEPORT UDP socket per I/O thread, each with its own receive
    // loop; set it to the number of threads that run the io_context.
    size_t udp_sockets = 1;
    // Optional: the io_context each UDP socket's receive loop runs on (socket
    // i on udp_contexts[i % size]). With one io_context per I/O thread a
    // datagram is handled by the thread whose epoll saw it, instead of one
    // thread waking another for every datagram. Empty: all on the layer's io.
    std::vector<boost::asio::io_context*> udp_contexts;
    // When true each UDP socket gets a dedicated receiver thread looping on a
    // blocking recvfrom(2) and calling the inbound handler inline: no
    // epoll_wait and no reactor bookkeeping per datagram. `udp_contexts` is
    // then used only for the rare send that finds the socket buffer full.
    // False: the Asio async receive loop on the io_context(s) above.
    bool udp_blocking_receivers = true;
    // When true a port of 0 asks the OS for a free port instead of disabling
    // the listener (tests); read the result with udp_port()/tcp_port().
    bool ephemeral_ports = false;
    // SIP over TLS (RFC 3261 26) on this port; unset disables it (0 with
    // ephemeral_ports: a free port). Needs the certificate below.
    std::optional<uint16_t> tls_port;
    // SIP over WebSocket (RFC 7118) on this port, upgrade path `ws_handler`;
    // with a certificate the same port also accepts wss:// (TLS detected by
    // its first byte). Unset disables it (0 with ephemeral_ports: a free port).
    std::optional<uint16_t> ws_port;
    std::string ws_handler = "/ws";
    // PEM files: the certificate chain and its private key. TLS listeners and
    // wss:// need them; start() throws, naming the file, when they do not
    // load or do not match. Outgoing TLS flows do not verify the server.
    std::string certificate_file;
    std::string private_key_file;
  };
  using InboundHandler = std::function<void(Inbound&&)>;
  using ClosedHandler = std::function<void(const Peer&)>;

  virtual ~TransportLayer() = default;

  // Called on an I/O thread for every datagram / framed stream message.
  virtual void set_inbound_handler(InboundHandler handler) = 0;
  // Called when a connection-oriented flow closes (either side, or idle).
  virtual void set_closed_handler(ClosedHandler handler) = 0;

  // Binds every enabled listener; throws std::system_error with a clear
  // message when a port cannot be bound.
  virtual void start() = 0;
  virtual void stop() = 0;

  // Thread-safe. Returns false when the bytes cannot be sent (connection gone,
  // socket error). With a connection id, sends on that flow only; without one
  // over a reliable protocol, reuses or opens a connection to the address.
  virtual bool send(const Peer& to, std::string bytes) = 0;

  // Actual ports after start() (useful when configured as 0 => ephemeral in tests).
  virtual uint16_t udp_port() const = 0;
  virtual uint16_t tcp_port() const = 0;
  virtual size_t connection_count() const = 0;
  virtual uint16_t tls_port() const { return 0; }
  virtual uint16_t ws_port() const { return 0; }
  // For an HTTP server that upgrades its own ws_handler requests and hands
  // them over (see websocket_handover.hpp); null before start() or when the
  // layer has no WebSocket support. Valid until the layer is destroyed.
  virtual WebSocketHandover* websocket_handover() { return nullptr; }
};

// UDP, TCP, TLS and WebSocket transport running on `io`. The caller runs `io` on its I/O threads.
std::unique_ptr<TransportLayer> make_transport_layer(boost::asio::io_context& io,
                                                     TransportLayer::Options options);

}  // namespace cppbx::transport
