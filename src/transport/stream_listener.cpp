// See stream_listener.hpp for the design.
#include "transport/stream_listener.hpp"

#include <system_error>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>

namespace cppbx::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

template <class Stream>
StreamListener<Stream>::StreamListener(asio::io_context& io, TransportContextPtr context,
                                       std::chrono::seconds idle_timeout, size_t max_connections,
                                       std::shared_ptr<asio::ssl::context> server_tls,
                                       std::shared_ptr<asio::ssl::context> client_tls)
    : io_(io),
      context_(std::move(context)),
      idle_timeout_(idle_timeout),
      max_connections_(max_connections),
      server_tls_(std::move(server_tls)),
      client_tls_(std::move(client_tls)),
      strand_(asio::make_strand(io)),
      acceptor_(strand_) {}

template <class Stream>
void StreamListener<Stream>::open(const asio::ip::address& address, uint16_t port) {
  const char* name = kIsTls ? "TLS" : "TCP";
  if (kIsTls && !server_tls_) {
    throw std::runtime_error(std::string("cannot listen on TLS: no certificate configured"));
  }
  tcp::endpoint endpoint(address, port);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(ec, std::string("cannot listen on ") + name + " " + address.to_string() + ":" +
                                    std::to_string(port));
  }
  port_ = acceptor_.local_endpoint().port();
  local_ = {kIsTls ? Protocol::Tls : Protocol::Tcp, address, port_};
}

template <class Stream>
void StreamListener<Stream>::start_accepting() {
  asio::post(strand_, [self = this->shared_from_this()] { self->accept(); });
}

template <class Stream>
void StreamListener<Stream>::accept() {
  // Each accepted socket gets its own strand: that strand is the connection's.
  acceptor_.async_accept(asio::make_strand(io_), [self = this->shared_from_this()](
                                                     const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->closed_) return;
    if (!ec) {
      if (self->connection_count() >= self->max_connections_) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: refuse by closing at once
      } else {
        auto connection = self->make_connection(self->make_stream(std::move(socket), true));
        self->flows_.add(connection);
        connection->start();
      }
    }
    self->accept();
  });
}

template <class Stream>
Stream StreamListener<Stream>::make_stream(tcp::socket socket, bool accepted) {
  if constexpr (kIsTls) {
    return Stream(std::move(socket), accepted ? *server_tls_ : *client_tls_);
  } else {
    (void)accepted;
    return socket;
  }
}

template <class Stream>
std::shared_ptr<StreamConnection<Stream>> StreamListener<Stream>::make_connection(Stream stream) {
  std::weak_ptr<StreamListener> weak = this->weak_from_this();
  return std::make_shared<Connection>(std::move(stream), context_->new_connection_id(), context_, idle_timeout_,
                                      local_, [weak](const Flow& closed) {
                                        if (auto self = weak.lock()) self->flows_.remove(closed);
                                      });
}

template <class Stream>
std::shared_ptr<Flow> StreamListener<Stream>::find_or_connect(const Peer& to) {
  tcp::endpoint remote(to.address, to.port);
  if (auto existing = flows_.find_remote(remote)) return existing;
  if (flows_.size() >= max_connections_) return nullptr;
  if constexpr (kIsTls) {
    if (!client_tls_) return nullptr;
  }
  auto connection = make_connection(make_stream(tcp::socket(asio::make_strand(io_)), false));
  // Another thread may have opened one meanwhile: use theirs.
  auto kept = flows_.add_unless_present(remote, connection);
  if (kept == connection) connection->connect(remote);
  return kept;
}

template <class Stream>
bool StreamListener<Stream>::send(const Peer& to, std::string&& bytes) {
  if (closed_) return false;
  std::shared_ptr<Flow> flow = to.connection != 0 ? flows_.find(to.connection) : find_or_connect(to);
  if (!flow) return false;
  flow->send(std::move(bytes));
  return true;
}

template <class Stream>
void StreamListener<Stream>::close() {
  closed_ = true;
  asio::post(strand_, [self = this->shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
  for (auto& flow : flows_.all()) flow->close();
}

template class StreamListener<tcp::socket>;
template class StreamListener<TlsStream>;

}  // namespace cppbx::transport
