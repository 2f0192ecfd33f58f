// SIP over WebSocket (RFC 7118) on ws_port, and the WebSocketHandover entry
// point for an HTTP server. One listener serves ws:// and, when a certificate
// is configured, wss:// on the same port: the first byte of a connection
// tells them apart (0x16 opens a TLS handshake).
//
// An accepted connection goes through an HTTP phase (TLS handshake when it
// is one, the request read with small limits, path and subprotocol checked,
// all bounded by one handshake deadline) and only becomes a flow, visible to
// send() and counted, once the 101 is written. Each WebSocket message is one
// SIP message (RFC 7118 5), parsed with the layer's parser and size limit.
// Beast answers pings and keeps the idle timeout: it pings a silent peer at
// half the timeout and closes the flow when a whole timeout passes without a
// byte from it, so a live browser keeps its flow (and its registration's
// route) while a vanished one is noticed. WebSocket flows are
// never opened by us: a browser cannot be connected to, so send() needs the
// flow's connection id.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "transport/flow.hpp"
#include "transport/transport_context.hpp"
#include "transport/websocket_handover.hpp"

namespace cppbx::transport {

class WebSocketListener final : public WebSocketHandover, public std::enable_shared_from_this<WebSocketListener> {
 public:
  struct Settings {
    std::string path = "/ws";                   // the upgrade path of the ws_port listener
    std::chrono::seconds idle_timeout{600};
    std::chrono::seconds handshake_timeout{30};
    size_t max_connections = 10000;
  };

  // `server_tls` null: plain ws:// only.
  WebSocketListener(boost::asio::io_context& io, TransportContextPtr context, Settings settings,
                    std::shared_ptr<boost::asio::ssl::context> server_tls);

  // Throws std::system_error when the port cannot be bound.
  void open(const boost::asio::ip::address& address, uint16_t port);
  void start_accepting();
  bool send(const Peer& to, std::string&& bytes);
  void close();
  uint16_t port() const { return port_; }
  size_t connection_count() const { return flows_.size(); }

  void accept_websocket(boost::beast::tcp_stream stream, Request request) override;
  void accept_websocket(TlsStream stream, Request request) override;

  // Used by the flows and the HTTP phase (websocket_transport.cpp).
  const TransportContextPtr& context() const { return context_; }
  const Settings& settings() const { return settings_; }
  FlowTable& flows() { return flows_; }
  bool closed() const { return closed_; }
  bool at_capacity() const { return flows_.size() >= settings_.max_connections; }
  const std::shared_ptr<boost::asio::ssl::context>& server_tls() const { return server_tls_; }

 private:
  void accept();

  boost::asio::io_context& io_;
  TransportContextPtr context_;
  Settings settings_;
  std::shared_ptr<boost::asio::ssl::context> server_tls_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> closed_{false};
  FlowTable flows_;
};

}  // namespace cppbx::transport
