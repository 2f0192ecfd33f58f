// The TransportLayer facade: owns one listener per protocol and routes send()
// by Peer::protocol. The TCP and TLS connection tables exist even when their
// listener is disabled, so outgoing flows still work; the WebSocket one
// exists always, so the handover works without ws_port.
#include <memory>
#include <stdexcept>

#include "transport/stream_listener.hpp"
#include "transport/tls_context.hpp"
#include "transport/transport.hpp"
#include "transport/transport_context.hpp"
#include "transport/udp_transport.hpp"
#include "transport/websocket_transport.hpp"

namespace cppbx::transport {

namespace {

class AsioTransportLayer final : public TransportLayer {
 public:
  AsioTransportLayer(boost::asio::io_context& io, Options options)
      : io_(io), options_(std::move(options)), context_(std::make_shared<TransportContext>()) {
    context_->limits = options_.limits;
  }
  ~AsioTransportLayer() override { stop(); }

  void set_inbound_handler(InboundHandler handler) override { context_->on_inbound = std::move(handler); }
  void set_closed_handler(ClosedHandler handler) override { context_->on_closed = std::move(handler); }

  void start() override {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(options_.address, ec);
    if (ec) throw std::system_error(ec, "bad listen address '" + options_.address + "'");

    // Certificates first: a bad file is a start-up error before any port is bound.
    std::shared_ptr<boost::asio::ssl::context> server_tls;
    if (!options_.certificate_file.empty() || !options_.private_key_file.empty() || options_.tls_port) {
      server_tls = make_server_tls_context(options_.certificate_file, options_.private_key_file);
    }

    auto udp = std::make_shared<UdpListener>(io_, context_);
    if (options_.udp_port != 0 || options_.ephemeral_ports) {
      udp->open(address, options_.udp_port, options_.udp_sockets, options_.udp_contexts);
    }
    auto tcp = std::make_shared<TcpListener>(io_, context_, options_.tcp_idle_timeout, options_.max_tcp_connections);
    bool tcp_listens = options_.tcp_port != 0 || options_.ephemeral_ports;
    if (tcp_listens) tcp->open(address, options_.tcp_port);
    auto tls = std::make_shared<TlsListener>(io_, context_, options_.tcp_idle_timeout, options_.max_tcp_connections,
                                             server_tls, make_client_tls_context());
    bool tls_listens = listens(options_.tls_port);
    if (tls_listens) tls->open(address, *options_.tls_port);
    auto ws = std::make_shared<WebSocketListener>(io_, context_, websocket_settings(), server_tls);
    bool ws_listens = listens(options_.ws_port);
    if (ws_listens) ws->open(address, *options_.ws_port);

    // Start only once every port is bound, so a failure leaves nothing running.
    udp->start_receiving(options_.udp_blocking_receivers);
    if (tcp_listens) tcp->start_accepting();
    if (tls_listens) tls->start_accepting();
    if (ws_listens) ws->start_accepting();
    udp_ = std::move(udp);
    tcp_ = std::move(tcp);
    tls_ = std::move(tls);
    ws_ = std::move(ws);
  }

  void stop() override {
    if (udp_) udp_->close();
    if (tcp_) tcp_->close();
    if (tls_) tls_->close();
    if (ws_) ws_->close();
  }

  bool send(const Peer& to, std::string bytes) override {
    switch (to.protocol) {
      case Protocol::Udp:
        return udp_ && udp_->send(to, std::move(bytes));
      case Protocol::Tcp:
        return tcp_ && tcp_->send(to, std::move(bytes));
      case Protocol::Tls:
        return tls_ && tls_->send(to, std::move(bytes));
      case Protocol::Ws:
      case Protocol::Wss:
        return ws_ && ws_->send(to, std::move(bytes));
    }
    return false;
  }

  uint16_t udp_port() const override { return udp_ ? udp_->port() : 0; }
  uint16_t tcp_port() const override { return tcp_ ? tcp_->port() : 0; }
  uint16_t tls_port() const override { return tls_ ? tls_->port() : 0; }
  uint16_t ws_port() const override { return ws_ ? ws_->port() : 0; }
  size_t connection_count() const override {
    return (tcp_ ? tcp_->connection_count() : 0) + (tls_ ? tls_->connection_count() : 0) +
           (ws_ ? ws_->connection_count() : 0);
  }
  WebSocketHandover* websocket_handover() override { return ws_.get(); }

 private:
  bool listens(const std::optional<uint16_t>& port) const {
    return port && (*port != 0 || options_.ephemeral_ports);
  }
  WebSocketListener::Settings websocket_settings() const {
    WebSocketListener::Settings settings;
    settings.path = options_.ws_handler;
    settings.idle_timeout = options_.tcp_idle_timeout;
    settings.max_connections = options_.max_tcp_connections;
    return settings;
  }

  boost::asio::io_context& io_;
  Options options_;
  TransportContextPtr context_;
  std::shared_ptr<UdpListener> udp_;
  std::shared_ptr<TcpListener> tcp_;
  std::shared_ptr<TlsListener> tls_;
  std::shared_ptr<WebSocketListener> ws_;
};

}  // namespace

std::unique_ptr<TransportLayer> make_transport_layer(boost::asio::io_context& io,
                                                     TransportLayer::Options options) {
  return std::make_unique<AsioTransportLayer>(io, std::move(options));
}

}  // namespace cppbx::transport
