// TCP or TLS listener and the table of its live connections (accepted and
// outgoing): a template over the stream type, like StreamConnection. A TLS
// listener holds a server context (certificate and key; absent when no
// certificate is configured, then it only opens outgoing flows) and a client
// context for outgoing flows.
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
#include "transport/stream_connection.hpp"
#include "transport/transport_context.hpp"

namespace cppbx::transport {

template <class Stream>
class StreamListener : public std::enable_shared_from_this<StreamListener<Stream>> {
 public:
  using Connection = StreamConnection<Stream>;
  static constexpr bool kIsTls = Connection::kIsTls;

  StreamListener(boost::asio::io_context& io, TransportContextPtr context, std::chrono::seconds idle_timeout,
                 size_t max_connections, std::shared_ptr<boost::asio::ssl::context> server_tls = nullptr,
                 std::shared_ptr<boost::asio::ssl::context> client_tls = nullptr);

  // Throws std::system_error when the port cannot be bound.
  void open(const boost::asio::ip::address& address, uint16_t port);
  void start_accepting();
  bool send(const Peer& to, std::string&& bytes);
  void close();
  uint16_t port() const { return port_; }
  size_t connection_count() const { return flows_.size(); }

 private:
  void accept();
  Stream make_stream(boost::asio::ip::tcp::socket socket, bool accepted);
  std::shared_ptr<Connection> make_connection(Stream stream);
  std::shared_ptr<Flow> find_or_connect(const Peer& to);

  boost::asio::io_context& io_;
  TransportContextPtr context_;
  std::chrono::seconds idle_timeout_;
  size_t max_connections_;
  std::shared_ptr<boost::asio::ssl::context> server_tls_;
  std::shared_ptr<boost::asio::ssl::context> client_tls_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  LocalEndpoint local_;
  uint16_t port_ = 0;
  std::atomic<bool> closed_{false};
  FlowTable flows_;
};

using TcpListener = StreamListener<boost::asio::ip::tcp::socket>;
using TlsListener = StreamListener<TlsStream>;
extern template class StreamListener<boost::asio::ip::tcp::socket>;
extern template class StreamListener<TlsStream>;

}  // namespace cppbx::transport
