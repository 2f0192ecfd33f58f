// See tcp_transport.hpp for the design.
#include "transport/tcp_transport.hpp"

#include <system_error>
#include <vector>

#include <boost/asio/post.hpp>

namespace cppbx::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

TcpListener::TcpListener(asio::io_context& io, TransportContextPtr context,
                         std::chrono::seconds idle_timeout, size_t max_connections)
    : io_(io),
      context_(std::move(context)),
      idle_timeout_(idle_timeout),
      max_connections_(max_connections),
      strand_(asio::make_strand(io)),
      acceptor_(strand_) {}

void TcpListener::open(const asio::ip::address& address, uint16_t port) {
  tcp::endpoint endpoint(address, port);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(ec, "cannot listen on TCP " + address.to_string() + ":" + std::to_string(port));
  }
  port_ = acceptor_.local_endpoint().port();
  local_ = {Protocol::Tcp, address, port_};
}

void TcpListener::start_accepting() {
  asio::post(strand_, [self = shared_from_this()] { self->accept(); });
}

void TcpListener::accept() {
  // Each accepted socket gets its own strand: that strand is the connection's.
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](
                                                     const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->closed_) return;
    if (!ec) {
      if (self->connection_count() >= self->max_connections_) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: refuse by closing at once
      } else {
        self->make_connection(std::move(socket))->start();
      }
    }
    self->accept();
  });
}

std::shared_ptr<TcpConnection> TcpListener::make_connection(tcp::socket socket) {
  ConnectionId id = next_id_.fetch_add(1, std::memory_order_relaxed);
  std::weak_ptr<TcpListener> weak = weak_from_this();
  auto connection = std::make_shared<TcpConnection>(
      std::move(socket), id, context_, idle_timeout_, local_, [weak](const TcpConnection& closed) {
        if (auto self = weak.lock()) self->forget(closed);
      });
  std::lock_guard lock(mutex_);
  connections_[id] = connection;
  if (connection->peer().port != 0) {
    by_remote_[tcp::endpoint(connection->peer().address, connection->peer().port)] = id;
  }
  return connection;
}

void TcpListener::forget(const TcpConnection& connection) {
  std::lock_guard lock(mutex_);
  connections_.erase(connection.id());
  auto it = by_remote_.find(tcp::endpoint(connection.peer().address, connection.peer().port));
  if (it != by_remote_.end() && it->second == connection.id()) by_remote_.erase(it);
}

std::shared_ptr<TcpConnection> TcpListener::find_or_connect(const Peer& to) {
  tcp::endpoint remote(to.address, to.port);
  {
    std::lock_guard lock(mutex_);
    auto it = by_remote_.find(remote);
    if (it != by_remote_.end()) {
      auto found = connections_.find(it->second);
      if (found != connections_.end()) return found->second;
    }
    if (connections_.size() >= max_connections_) return nullptr;
  }
  tcp::socket socket(asio::make_strand(io_));
  ConnectionId id = next_id_.fetch_add(1, std::memory_order_relaxed);
  std::weak_ptr<TcpListener> weak = weak_from_this();
  auto connection = std::make_shared<TcpConnection>(
      std::move(socket), id, context_, idle_timeout_, local_, [weak](const TcpConnection& closed) {
        if (auto self = weak.lock()) self->forget(closed);
      });
  {
    std::lock_guard lock(mutex_);
    // Another thread may have opened one meanwhile: use theirs.
    auto it = by_remote_.find(remote);
    if (it != by_remote_.end()) {
      auto found = connections_.find(it->second);
      if (found != connections_.end()) return found->second;
    }
    connections_[id] = connection;
    by_remote_[remote] = id;
  }
  connection->connect(remote);
  return connection;
}

bool TcpListener::send(const Peer& to, std::string&& bytes) {
  if (closed_) return false;
  std::shared_ptr<TcpConnection> connection;
  if (to.connection != 0) {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(to.connection);
    if (it == connections_.end()) return false;
    connection = it->second;
  } else {
    connection = find_or_connect(to);
    if (!connection) return false;
  }
  connection->send(std::move(bytes));
  return true;
}

size_t TcpListener::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

void TcpListener::close() {
  closed_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<TcpConnection>> open;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, connection] : connections_) open.push_back(connection);
  }
  for (auto& connection : open) connection->close();
}

}  // namespace cppbx::transport
