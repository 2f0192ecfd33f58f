// TCP listener and the table of live connections (accepted and outgoing).
// The table is the only state shared between threads here, behind one mutex
// that is held only for map look-ups; all socket work happens on each
// connection's strand.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "transport/tcp_connection.hpp"
#include "transport/transport_context.hpp"

namespace cppbx::transport {

class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  TcpListener(boost::asio::io_context& io, TransportContextPtr context,
              std::chrono::seconds idle_timeout, size_t max_connections);

  // Throws std::system_error when the port cannot be bound.
  void open(const boost::asio::ip::address& address, uint16_t port);
  void start_accepting();
  bool send(const Peer& to, std::string&& bytes);
  void close();
  uint16_t port() const { return port_; }
  size_t connection_count() const;

 private:
  void accept();
  std::shared_ptr<TcpConnection> make_connection(boost::asio::ip::tcp::socket socket);
  std::shared_ptr<TcpConnection> find_or_connect(const Peer& to);
  void forget(const TcpConnection& connection);

  boost::asio::io_context& io_;
  TransportContextPtr context_;
  std::chrono::seconds idle_timeout_;
  size_t max_connections_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  LocalEndpoint local_;
  uint16_t port_ = 0;
  std::atomic<ConnectionId> next_id_{1};
  std::atomic<bool> closed_{false};

  mutable std::mutex mutex_;
  std::unordered_map<ConnectionId, std::shared_ptr<TcpConnection>> connections_;
  std::map<boost::asio::ip::tcp::endpoint, ConnectionId> by_remote_;
};

}  // namespace cppbx::transport
