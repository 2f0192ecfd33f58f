// The TransportLayer facade: owns one listener per protocol and routes send()
// by Peer::protocol. The TCP connection table exists even when the TCP
// listener is disabled, so outgoing TCP flows still work.
#include <memory>
#include <stdexcept>

#include "transport/tcp_transport.hpp"
#include "transport/transport.hpp"
#include "transport/transport_context.hpp"
#include "transport/udp_transport.hpp"

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

    auto udp = std::make_shared<UdpListener>(io_, context_);
    if (options_.udp_port != 0 || options_.ephemeral_ports) {
      udp->open(address, options_.udp_port, options_.udp_sockets, options_.udp_contexts);
    }
    auto tcp = std::make_shared<TcpListener>(io_, context_, options_.tcp_idle_timeout,
                                             options_.max_tcp_connections);
    bool tcp_listens = options_.tcp_port != 0 || options_.ephemeral_ports;
    if (tcp_listens) tcp->open(address, options_.tcp_port);

    // Start only once every port is bound, so a failure leaves nothing running.
    udp->start_receiving(options_.udp_blocking_receivers);
    if (tcp_listens) tcp->start_accepting();
    udp_ = std::move(udp);
    tcp_ = std::move(tcp);
  }

  void stop() override {
    if (udp_) udp_->close();
    if (tcp_) tcp_->close();
  }

  bool send(const Peer& to, std::string bytes) override {
    switch (to.protocol) {
      case Protocol::Udp:
        return udp_ && udp_->send(to, std::move(bytes));
      case Protocol::Tcp:
        return tcp_ && tcp_->send(to, std::move(bytes));
      default:
        return false;  // TLS and WebSocket are not implemented yet
    }
  }

  uint16_t udp_port() const override { return udp_ ? udp_->port() : 0; }
  uint16_t tcp_port() const override { return tcp_ ? tcp_->port() : 0; }
  size_t connection_count() const override { return tcp_ ? tcp_->connection_count() : 0; }

 private:
  boost::asio::io_context& io_;
  Options options_;
  TransportContextPtr context_;
  std::shared_ptr<UdpListener> udp_;
  std::shared_ptr<TcpListener> tcp_;
};

}  // namespace

std::unique_ptr<TransportLayer> make_transport_layer(boost::asio::io_context& io,
                                                     TransportLayer::Options options) {
  return std::make_unique<AsioTransportLayer>(io, std::move(options));
}

}  // namespace cppbx::transport
