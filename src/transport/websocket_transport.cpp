// See websocket_transport.hpp for the design. Three stages, each a small
// object kept alive by its pending operation:
//   TlsDetection   first bytes of a ws_port connection: TLS or not
//   UpgradeRequest reads the HTTP request and routes it (404 off the path)
//   WebSocketFlow  answers the upgrade (400 without subprotocol "sip"),
//                  then carries one SIP message per WebSocket message.
// The handover entry point starts at the last stage.
#include "transport/websocket_transport.hpp"

#include <deque>
#include <optional>
#include <system_error>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "transport/stream_connection.hpp"

namespace cppbx::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using Request = WebSocketHandover::Request;

namespace {

constexpr size_t kMaxRequestHeader = 8192;
constexpr size_t kMaxRequestBody = 4096;
// A WebSocket message is one SIP message; beyond this much unsent data for
// one flow the peer is not reading and the flow is closed, as for TCP.
constexpr size_t kMaxQueuedBytes = 256 * 1024;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// RFC 7118 4.1: the client lists "sip" among its Sec-WebSocket-Protocol values.
bool offers_sip_subprotocol(const Request& request) {
  for (auto it = request.find(http::field::sec_websocket_protocol); it != request.end() &&
       it->name() == http::field::sec_websocket_protocol; ++it) {
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty()) {
      size_t comma = list.find(',');
      if (beast::iequals(trimmed(list.substr(0, comma)), "sip")) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// Answers with `status`, then closes: the stream goes with the response.
template <class Stream>
void refuse(Stream stream, http::status status, unsigned version) {
  struct Refusal {
    Stream stream;
    http::response<http::string_body> response;
  };
  auto refusal = std::make_shared<Refusal>(Refusal{std::move(stream), {status, version}});
  refusal->response.set(http::field::connection, "close");
  refusal->response.keep_alive(false);
  refusal->response.prepare_payload();
  beast::get_lowest_layer(refusal->stream).expires_after(std::chrono::seconds(10));
  http::async_write(refusal->stream, refusal->response, [refusal](const boost::system::error_code&, size_t) {
    beast::get_lowest_layer(refusal->stream).close();
  });
}

asio::ip::tcp::endpoint endpoint_of(tcp::socket& socket, bool remote) {
  boost::system::error_code ignored;
  return remote ? socket.remote_endpoint(ignored) : socket.local_endpoint(ignored);
}

template <class Stream>
class WebSocketFlow final : public Flow, public std::enable_shared_from_this<WebSocketFlow<Stream>> {
 public:
  static constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

  WebSocketFlow(Stream stream, const std::shared_ptr<WebSocketListener>& listener)
      : ws_(std::move(stream)),
        listener_(listener),
        context_(listener->context()),
        settings_(listener->settings()),
        id_(context_->new_connection_id()) {
    tcp::socket& socket = beast::get_lowest_layer(ws_).socket();
    tcp::endpoint remote = endpoint_of(socket, true);
    tcp::endpoint local = endpoint_of(socket, false);
    peer_ = {kIsTls ? Protocol::Wss : Protocol::Ws, unmapped(remote.address()), remote.port(), id_};
    local_ = {peer_.protocol, unmapped(local.address()), local.port()};
  }

  // Answers the upgrade request; the flow opens once the 101 is written.
  void accept(Request request) {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), request = std::move(request)]() mutable {
      self->request_ = std::move(request);
      self->answer_upgrade();
    });
  }

  void send(std::string bytes) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), bytes = std::move(bytes)]() mutable {
      if (self->closed_) return;
      if (self->queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
        self->close_now();
        return;
      }
      self->queued_bytes_ += bytes.size();
      self->queue_.push_back(std::move(bytes));
      self->write_next();
    });
  }

  void close() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
  }

  ConnectionId id() const override { return id_; }
  const Peer& peer() const override { return peer_; }

 private:
  void answer_upgrade() {
    beast::get_lowest_layer(ws_).expires_never();  // from here on the websocket stream keeps time
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = settings_.handshake_timeout;
    timeouts.idle_timeout = settings_.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::sec_websocket_protocol, "sip");
    }));
    ws_.read_message_max(context_->limits.max_message_size);
    ws_.async_accept(*request_, [self = this->shared_from_this()](const boost::system::error_code& ec) {
      self->request_.reset();
      if (ec) {
        self->close_now();
        return;
      }
      self->opened();
    });
  }

  void opened() {
    auto listener = listener_.lock();
    if (!listener || listener->closed() || closed_) {
      close_now();
      return;
    }
    open_ = true;
    listener->flows().add(this->shared_from_this());
    ws_.text(true);
    read();
    write_next();
  }

  void read() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](const boost::system::error_code& ec, size_t) {
      if (self->closed_) return;
      if (ec) {
        self->close_now();  // closed by the peer, too big, timed out, or broken
        return;
      }
      self->deliver();
      self->read();
    });
  }

  void deliver() {
    auto data = buffer_.cdata();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (!trimmed(text).empty()) {  // a blank message is a keep-alive
      Inbound inbound;
      inbound.parsed = sip::parse_message(text, context_->limits);
      inbound.peer = peer_;
      inbound.local = local_;
      inbound.size = text.size();
      context_->deliver(std::move(inbound));
    }
    buffer_.consume(buffer_.size());
  }

  void write_next() {
    if (writing_ || !open_ || closed_ || queue_.empty()) return;
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front()), [self = this->shared_from_this()](
                                                      const boost::system::error_code& ec, size_t) {
      self->writing_ = false;
      if (self->closed_) return;
      if (ec) {
        self->close_now();
        return;
      }
      self->queued_bytes_ -= self->queue_.front().size();
      self->queue_.pop_front();
      self->write_next();
    });
  }

  // Closes the TCP connection without a closing handshake: either the peer
  // started it (Beast has answered it already) or the flow is being dropped.
  void close_now() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    beast::get_lowest_layer(ws_).close();
    if (!open_) return;  // never a flow: nobody knows its id
    if (auto listener = listener_.lock()) listener->flows().remove(*this);
    context_->closed(peer_);
  }

  websocket::stream<Stream> ws_;
  std::weak_ptr<WebSocketListener> listener_;
  TransportContextPtr context_;
  WebSocketListener::Settings settings_;
  ConnectionId id_;
  Peer peer_;
  LocalEndpoint local_;
  std::optional<Request> request_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

// Checks what the HTTP layer cannot (upgrade and subprotocol) and hands the
// stream to a new flow. Shared by the ws_port listener and the handover.
template <class Stream>
void upgrade(const std::shared_ptr<WebSocketListener>& listener, Stream stream, Request request) {
  if (!websocket::is_upgrade(request) || !offers_sip_subprotocol(request)) {
    refuse(std::move(stream), http::status::bad_request, request.version());
    return;
  }
  if (listener->closed() || listener->at_capacity()) {
    refuse(std::move(stream), http::status::service_unavailable, request.version());
    return;
  }
  std::make_shared<WebSocketFlow<Stream>>(std::move(stream), listener)->accept(std::move(request));
}

template <class Stream>
class UpgradeRequest : public std::enable_shared_from_this<UpgradeRequest<Stream>> {
 public:
  UpgradeRequest(Stream stream, beast::flat_buffer buffer, std::shared_ptr<WebSocketListener> listener)
      : stream_(std::move(stream)), buffer_(std::move(buffer)), listener_(std::move(listener)) {
    parser_.header_limit(kMaxRequestHeader);
    parser_.body_limit(kMaxRequestBody);
  }

  // WSS: the TLS handshake first, fed with the bytes the detection read.
  void handshake() {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.async_handshake(asio::ssl::stream_base::server, buffer_.data(),
                              [self = this->shared_from_this()](const boost::system::error_code& ec, size_t used) {
                                if (ec) {
                                  beast::get_lowest_layer(self->stream_).close();
                                  return;
                                }
                                self->buffer_.consume(used);
                                self->read();
                              });
    }
  }

  void read() {
    http::async_read(stream_, buffer_, parser_,
                     [self = this->shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec) {
                         beast::get_lowest_layer(self->stream_).close();
                         return;
                       }
                       self->route();
                     });
  }

 private:
  void route() {
    Request request = parser_.release();
    std::string_view target(request.target().data(), request.target().size());
    if (path_of(target) != listener_->settings().path) {
      refuse(std::move(stream_), http::status::not_found, request.version());
      return;
    }
    upgrade(listener_, std::move(stream_), std::move(request));
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  std::shared_ptr<WebSocketListener> listener_;
};

// A ws_port connection when a certificate is configured: TLS starts with a
// handshake record (first byte 0x16), plain HTTP with a method name.
class TlsDetection : public std::enable_shared_from_this<TlsDetection> {
 public:
  TlsDetection(beast::tcp_stream stream, std::shared_ptr<WebSocketListener> listener)
      : stream_(std::move(stream)), listener_(std::move(listener)) {}

  void run() {
    beast::async_detect_ssl(stream_, buffer_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                                           bool is_tls) {
      if (ec) {
        self->stream_.close();
        return;
      }
      if (is_tls) {
        WebSocketHandover::TlsStream tls(std::move(self->stream_), *self->listener_->server_tls());
        std::make_shared<UpgradeRequest<WebSocketHandover::TlsStream>>(std::move(tls), std::move(self->buffer_),
                                                                       self->listener_)
            ->handshake();
      } else {
        std::make_shared<UpgradeRequest<beast::tcp_stream>>(std::move(self->stream_), std::move(self->buffer_),
                                                            self->listener_)
            ->read();
      }
    });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<WebSocketListener> listener_;
};

}  // namespace

WebSocketListener::WebSocketListener(asio::io_context& io, TransportContextPtr context, Settings settings,
                                     std::shared_ptr<asio::ssl::context> server_tls)
    : io_(io),
      context_(std::move(context)),
      settings_(std::move(settings)),
      server_tls_(std::move(server_tls)),
      strand_(asio::make_strand(io)),
      acceptor_(strand_) {}

void WebSocketListener::open(const asio::ip::address& address, uint16_t port) {
  tcp::endpoint endpoint(address, port);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(ec, "cannot listen on WebSocket " + address.to_string() + ":" + std::to_string(port));
  }
  port_ = acceptor_.local_endpoint().port();
}

void WebSocketListener::start_accepting() {
  asio::post(strand_, [self = shared_from_this()] { self->accept(); });
}

void WebSocketListener::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                             tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->closed_) return;
    if (!ec) {
      if (self->at_capacity()) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: refuse by closing at once
      } else {
        beast::tcp_stream stream(std::move(socket));
        stream.expires_after(self->settings_.handshake_timeout);
        if (self->server_tls_) {
          std::make_shared<TlsDetection>(std::move(stream), self)->run();
        } else {
          std::make_shared<UpgradeRequest<beast::tcp_stream>>(std::move(stream), beast::flat_buffer{}, self)->read();
        }
      }
    }
    self->accept();
  });
}

void WebSocketListener::accept_websocket(beast::tcp_stream stream, Request request) {
  upgrade(shared_from_this(), std::move(stream), std::move(request));
}

void WebSocketListener::accept_websocket(TlsStream stream, Request request) {
  upgrade(shared_from_this(), std::move(stream), std::move(request));
}

bool WebSocketListener::send(const Peer& to, std::string&& bytes) {
  if (closed_ || to.connection == 0) return false;
  std::shared_ptr<Flow> flow = flows_.find(to.connection);
  if (!flow || flow->peer().protocol != to.protocol) return false;
  flow->send(std::move(bytes));
  return true;
}

void WebSocketListener::close() {
  closed_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
  for (auto& flow : flows_.all()) flow->close();
}

}  // namespace cppbx::transport
