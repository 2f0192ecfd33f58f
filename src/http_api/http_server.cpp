// See http_server.hpp. One Connection object per socket, kept alive by the
// shared_ptr its pending operation holds; the Responder given to a handler
// holds one too, so a connection waits for a slow handler (a Test) and is
// freed once the answer is written or the peer goes away.
#include "http_api/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "common/strings.hpp"
#include "common/url_parts.hpp"
#include "http_api/router.hpp"

namespace cppbx::http_api {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Request to_api_request(const bhttp::request<bhttp::string_body>& message, const std::string& remote, bool secure) {
  Request request;
  request.method = std::string(message.method_string());
  std::string_view target(message.target().data(), message.target().size());
  size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = parse_query(target.substr(question + 1));
  for (const auto& field : message) {
    std::string name = to_lower(std::string_view(field.name_string().data(), field.name_string().size()));
    std::string value(field.value().data(), field.value().size());
    auto [slot, inserted] = request.headers.emplace(name, value);
    if (!inserted) slot->second += (name == "cookie" ? "; " : ", ") + value;
  }
  request.body = message.body();
  request.remote_address = remote;
  request.secure = secure;
  return request;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Stream: beast::tcp_stream (HTTP) or TlsStream (HTTPS).
template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <typename... TlsContext>
  Connection(tcp::socket socket, std::shared_ptr<HttpServer> server, TlsContext&... tls)
      : stream_(std::move(socket), tls...), server_(std::move(server)) {
    ++server_->open_connections();
    beast::error_code ignored;
    auto endpoint = lowest().socket().remote_endpoint(ignored);
    remote_ = ignored ? std::string("unknown") : endpoint.address().to_string();
  }
  ~Connection() { --server_->open_connections(); }

  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      lowest().expires_after(server_->options().idle_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code error) {
        if (error) {
          self->close();
          return;
        }
        self->read();
      });
    } else {
      read();
    }
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options().body_limit);
    parser_->header_limit(8 * 1024);
    lowest().expires_after(server_->options().idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code error, size_t) { self->on_read(error); });
  }

 private:
  void on_read(beast::error_code error) {
    if (error == bhttp::error::end_of_stream || error == beast::error::timeout || error == asio::error::eof ||
        error == asio::error::connection_reset || error == asio::error::operation_aborted) {
      close();
      return;
    }
    if (error) {
      Response response = Response::error(error == bhttp::error::body_limit ? 413 : 400, "malformed request");
      keep_alive_ = false;
      write(std::move(response), 11);
      return;
    }
    bhttp::request<bhttp::string_body> message = parser_->release();
    if (hand_over_websocket(message)) return;
    keep_alive_ = message.keep_alive();
    const unsigned version = message.version();
    Request request = to_api_request(message, remote_, server_->secure());
    // Answered from any thread: the write goes back to our executor.
    auto self = this->shared_from_this();
    Responder respond = [self, version](Response response) {
      asio::post(self->stream_.get_executor(),
                 [self, version, response = std::move(response)]() mutable { self->write(std::move(response), version); });
    };
    server_->dispatcher().dispatch(std::move(request), std::move(respond));
  }

  // SIP over WebSocket on the API's port: the stream leaves this connection.
  bool hand_over_websocket(bhttp::request<bhttp::string_body>& message) {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      const HttpServerOptions& options = server_->options();
      std::string_view target(message.target().data(), message.target().size());
      target = target.substr(0, target.find('?'));
      if (options.websocket == nullptr || options.websocket_path.empty() || target != options.websocket_path ||
          !beast::websocket::is_upgrade(message)) {
        return false;
      }
      lowest().expires_never();
      options.websocket->accept_websocket(std::move(stream_), std::move(message));
      return true;
    } else {
      return false;
    }
  }

  void write(Response response, unsigned version) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version);
    message->set(bhttp::field::content_type, response.content_type);
    message->set(bhttp::field::cache_control, "no-store");
    message->set("X-Content-Type-Options", "nosniff");
    // A handler's own Cache-Control or nosniff replaces the default (the
    // console's pages are revalidated, not refetched); others are added.
    for (const auto& [name, value] : response.headers) {
      if (iequals(name, "Cache-Control") || iequals(name, "X-Content-Type-Options")) {
        message->set(name, value);
      } else {
        message->insert(name, value);
      }
    }
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive_);
    message->prepare_payload();
    lowest().expires_after(server_->options().idle_timeout);
    bhttp::async_write(stream_, *message, [self = this->shared_from_this(), message](beast::error_code error, size_t) {
      if (error || !self->keep_alive_) {
        self->close();
        return;
      }
      self->read();
    });
  }

  // No TLS close_notify: the API never relies on a clean TLS shutdown
  // (every answer has a Content-Length), and waiting for the peer's would
  // only hold the connection longer.
  void close() {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  Stream stream_;
  std::shared_ptr<HttpServer> server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string remote_;
  bool keep_alive_ = false;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, const Dispatcher& dispatcher,
                       HttpServerOptions options, std::shared_ptr<asio::ssl::context> tls)
    : io_(io), acceptor_(io), dispatcher_(dispatcher), options_(options), tls_(std::move(tls)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void HttpServer::start() { accept(); }

void HttpServer::stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void HttpServer::accept() {
  // Each connection on its own strand: a WebSocket flow handed to the
  // transport needs one (websocket_handover.hpp).
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (!error) {
      if (self->open_connections_.load() >= self->options_.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        if (self->tls_) {
          std::make_shared<Connection<TlsStream>>(std::move(socket), self, *self->tls_)->start();
        } else {
          std::make_shared<Connection<beast::tcp_stream>>(std::move(socket), self)->start();
        }
      }
    }
    self->accept();
  });
}

std::optional<tcp::endpoint> parse_listen_address(const std::string& text, std::string& error) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    error = "'" + text + "' is not host:port";
    return std::nullopt;
  }
  std::string host = text.substr(0, colon);
  auto port = url::parse_port(std::string_view(text).substr(colon + 1));
  if (!port) {
    error = "'" + text + "' has no valid port";
    return std::nullopt;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code code;
  auto address = asio::ip::make_address(host, code);
  if (!code) return tcp::endpoint(address, *port);
  asio::io_context resolver_io;
  tcp::resolver resolver(resolver_io);
  auto results = resolver.resolve(host, std::to_string(*port), code);
  if (code || results.empty()) {
    error = "cannot resolve '" + host + "'";
    return std::nullopt;
  }
  return results.begin()->endpoint();
}

}  // namespace cppbx::http_api

namespace cppbx::http_api {

std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& certificate_file,
                                                    const std::string& private_key_file, std::string& error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code code;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       code);
  context->use_certificate_chain_file(certificate_file, code);
  if (code) {
    error = "cannot use certificate " + certificate_file + ": " + code.message();
    return nullptr;
  }
  context->use_private_key_file(private_key_file, asio::ssl::context::pem, code);
  if (code) {
    error = "cannot use private key " + private_key_file + ": " + code.message();
    return nullptr;
  }
  return context;
}

}  // namespace cppbx::http_api
