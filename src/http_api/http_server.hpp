// The HTTP/1.1 listener (Boost.Beast) under the API: accepts connections on
// the API's own io_context, reads one request at a time per connection
// (body at most body_limit, headers at most 8 KiB, idle connections closed
// after idle_timeout), turns it into an api Request, hands it to the
// Dispatcher, and writes the Response when the handler answers -- from
// whatever thread it answers, the write is posted back to the io_context.
// Keep-alive is honoured; a malformed request gets 400 and the connection
// is closed. At most max_connections are open at once; more are closed on
// accept. With a TLS context the same server speaks HTTPS: each connection
// does its TLS handshake (bounded by idle_timeout) before the first read,
// and its requests are marked secure (the session cookie then gets Secure).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http_api/dispatcher.hpp"
#include "transport/websocket_handover.hpp"

namespace cppbx::http_api {

struct HttpServerOptions {
  size_t body_limit = 256 * 1024;
  std::chrono::seconds idle_timeout{60};
  size_t max_connections = 256;
  // Plain HTTP only: a WebSocket upgrade at this path is handed to
  // `websocket` (SIP over WebSocket, RFC 7118) instead of the API.
  std::string websocket_path;
  transport::WebSocketHandover* websocket = nullptr;
};

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds and listens; throws boost::system::system_error when it cannot.
  HttpServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
             const Dispatcher& dispatcher, HttpServerOptions options = {},
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  void start();  // begins accepting (call once, before running io)
  void stop();   // stops accepting; call on the io thread or before it runs
  uint16_t port() const { return port_; }

  std::atomic<size_t>& open_connections() { return open_connections_; }
  const HttpServerOptions& options() const { return options_; }
  const Dispatcher& dispatcher() const { return dispatcher_; }
  bool secure() const { return tls_ != nullptr; }

 private:
  void accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const Dispatcher& dispatcher_;
  HttpServerOptions options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::atomic<size_t> open_connections_{0};
};

// "0.0.0.0:8080", "[::1]:8080", "localhost:8080" -> an endpoint (names are
// resolved). nullopt with the reason in `error`.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen_address(const std::string& text, std::string& error);

// A TLS server context from PEM files (TLS 1.2 or later); nullptr with the
// reason in `error` (file names only).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& certificate_file,
                                                           const std::string& private_key_file, std::string& error);

}  // namespace cppbx::http_api
