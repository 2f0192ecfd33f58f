// TLS and WebSocket transports on real loopback sockets with a certificate
// generated per test: round trips (the inbound Peer's protocol and flow, the
// answer on that flow), WS and WSS on one port, upgrade refusals (wrong path,
// no "sip" subprotocol), closed flows reported, the message size limit, TLS
// versions below 1.2 refused, certificate errors at start, outgoing TLS, and
// the HTTP-server handover entry point.
//
// The clients run on their own io_context, one operation at a time, each
// bounded by a deadline (await), so a transport bug fails a test instead of
// hanging it.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <openssl/ssl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "support/test_certificate.hpp"
#include "transport/transport.hpp"
#include "transport/websocket_handover.hpp"

namespace cppbx::transport {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using namespace std::chrono_literals;
using asio::ip::tcp;
using error_code = boost::system::error_code;

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

std::string register_request(std::string_view call_id, std::string_view via_transport = "TLS") {
  return "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/" + std::string(via_transport) +
         " df7jal23ls0d.invalid;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
         "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: " +
         std::string(call_id) +
         "\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@df7jal23ls0d.invalid;transport=ws>\r\nContent-Length: 0\r\n\r\n";
}
constexpr std::string_view kResponse = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

// Starts an asynchronous client operation and runs `io` until it completes
// or 5 s pass; the handler state is shared so a late completion is harmless.
template <class Start>
error_code await(asio::io_context& io, Start start) {
  auto result = std::make_shared<std::optional<error_code>>();
  start([result](error_code ec, auto&&...) { *result = ec; });
  io.restart();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!*result && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
  return result->value_or(asio::error::timed_out);
}

std::shared_ptr<ssl::context> client_tls_context(bool allow_old_versions = false) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_verify_mode(ssl::verify_none);
  if (allow_old_versions) {
    // Offer only TLS 1.1, at security level 0 so OpenSSL itself does not
    // refuse it: only the server's minimum can make the handshake fail.
    SSL_CTX_set_security_level(context->native_handle(), 0);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(context->native_handle(), TLS1_1_VERSION);
  }
  return context;
}

// A Beast request decorator offering `subprotocol` ("" offers none).
auto offering(std::string subprotocol) {
  return websocket::stream_base::decorator([subprotocol](websocket::request_type& request) {
    if (!subprotocol.empty()) request.set(http::field::sec_websocket_protocol, subprotocol);
  });
}

class TlsWebSocketTest : public ::testing::Test {
 protected:
  void start(TransportLayer::Options options = {}) {
    options.address = "127.0.0.1";
    options.udp_port = 0;
    options.tcp_port = 0;
    options.ephemeral_ports = true;
    transport_ = make_transport_layer(io_, options);
    transport_->set_inbound_handler([this](Inbound&& in) {
      std::lock_guard lock(mutex_);
      inbound_.push_back(std::move(in));
      cv_.notify_all();
    });
    transport_->set_closed_handler([this](const Peer& peer) {
      std::lock_guard lock(mutex_);
      closed_.push_back(peer);
      cv_.notify_all();
    });
    transport_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  TransportLayer::Options with_certificate(bool tls, bool ws) {
    TransportLayer::Options options;
    options.certificate_file = certificate_.certificate_file();
    options.private_key_file = certificate_.private_key_file();
    if (tls) options.tls_port = 0;
    if (ws) options.ws_port = 0;
    return options;
  }

  void TearDown() override {
    if (transport_) transport_->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  std::optional<Inbound> wait_inbound(std::chrono::milliseconds limit = 3000ms) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, limit, [&] { return !inbound_.empty(); })) return std::nullopt;
    Inbound in = std::move(inbound_.front());
    inbound_.pop_front();
    return in;
  }
  std::optional<Peer> wait_closed(std::chrono::milliseconds limit = 3000ms) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, limit, [&] { return !closed_.empty(); })) return std::nullopt;
    return closed_.front();
  }
  // The server counts a flow once its 101 is written, which the client may
  // see before the server's write completes.
  bool wait_connection_count(size_t count, std::chrono::milliseconds limit = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (transport_->connection_count() != count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }
  size_t inbound_count() {
    std::lock_guard lock(mutex_);
    return inbound_.size();
  }

  // A TLS client connected to the transport's TLS port, handshake done.
  std::unique_ptr<ssl::stream<tcp::socket>> tls_client(const std::shared_ptr<ssl::context>& context) {
    auto client = std::make_unique<ssl::stream<tcp::socket>>(client_io_, *context);
    EXPECT_FALSE(await(client_io_, [&](auto handler) {
      client->lowest_layer().async_connect({kLoopback, transport_->tls_port()}, handler);
    }));
    return client;
  }

  // The subject of a WebSocket test: a plain or TLS client stream.
  using WsClient = websocket::stream<tcp::socket>;
  using WssClient = websocket::stream<ssl::stream<tcp::socket>>;

  error_code ws_handshake(WsClient& ws, std::string_view path, std::string subprotocol,
                          websocket::response_type& response) {
    ws.set_option(offering(std::move(subprotocol)));
    error_code ec = await(client_io_, [&](auto handler) {
      ws.next_layer().async_connect({kLoopback, transport_->ws_port()}, handler);
    });
    if (ec) return ec;
    return await(client_io_, [&](auto handler) {
      ws.async_handshake(response, "127.0.0.1", std::string(path), handler);
    });
  }

  std::string read_text(auto& ws, error_code* error = nullptr) {
    beast::flat_buffer buffer;
    error_code ec = await(client_io_, [&](auto handler) { ws.async_read(buffer, handler); });
    if (error) *error = ec;
    return beast::buffers_to_string(buffer.data());
  }

  test::TestCertificate certificate_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::unique_ptr<TransportLayer> transport_;
  asio::io_context client_io_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Inbound> inbound_;
  std::vector<Peer> closed_;
};

TEST_F(TlsWebSocketTest, TlsRequestArrivesOnAFlowAndTheAnswerGoesBackOnIt) {
  start(with_certificate(true, false));
  ASSERT_NE(transport_->tls_port(), 0);
  auto client = tls_client(client_tls_context());
  ASSERT_FALSE(await(client_io_, [&](auto h) { client->async_handshake(ssl::stream_base::client, h); }));
  std::string request = register_request("tls-1");
  ASSERT_FALSE(await(client_io_, [&](auto h) { asio::async_write(*client, asio::buffer(request), h); }));

  auto in = wait_inbound();
  ASSERT_TRUE(in);
  ASSERT_EQ(in->parsed.status, sip::ParseStatus::Ok);
  EXPECT_EQ(in->parsed.message->call_id(), "tls-1");
  EXPECT_EQ(in->peer.protocol, Protocol::Tls);
  EXPECT_NE(in->peer.connection, 0u);
  EXPECT_EQ(in->peer.port, client->lowest_layer().local_endpoint().port());
  EXPECT_EQ(in->local.protocol, Protocol::Tls);
  EXPECT_EQ(in->local.port, transport_->tls_port());
  EXPECT_EQ(transport_->connection_count(), 1u);

  ASSERT_TRUE(transport_->send(in->peer, std::string(kResponse)));
  std::string answer(kResponse.size(), '\0');
  ASSERT_FALSE(await(client_io_, [&](auto h) { asio::async_read(*client, asio::buffer(answer), h); }));
  EXPECT_EQ(answer, kResponse);

  // Closing the client ends the flow: the closed handler names it.
  client->lowest_layer().close();
  auto closed = wait_closed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->protocol, Protocol::Tls);
  EXPECT_EQ(closed->connection, in->peer.connection);
  EXPECT_FALSE(transport_->send(in->peer, std::string(kResponse)));
}

TEST_F(TlsWebSocketTest, TlsBelowVersion12IsRefused) {
  start(with_certificate(true, false));
  auto client = tls_client(client_tls_context(true));
  error_code ec = await(client_io_, [&](auto h) { client->async_handshake(ssl::stream_base::client, h); });
  EXPECT_TRUE(ec) << "a TLS 1.1 handshake succeeded";

  // A 1.2+ client on the same listener still gets through.
  auto modern = tls_client(client_tls_context());
  EXPECT_FALSE(await(client_io_, [&](auto h) { modern->async_handshake(ssl::stream_base::client, h); }));
}

TEST_F(TlsWebSocketTest, OutgoingTlsFlowIsOpenedForAPeerWithoutConnection) {
  start(with_certificate(false, false));
  // A TLS server of the test's own, with the same certificate.
  ssl::context server_context(ssl::context::tls_server);
  server_context.use_certificate_chain_file(certificate_.certificate_file());
  server_context.use_private_key_file(certificate_.private_key_file(), ssl::context::pem);
  tcp::acceptor acceptor(client_io_, {kLoopback, 0});
  ssl::stream<tcp::socket> server(client_io_, server_context);

  Peer to{Protocol::Tls, kLoopback, acceptor.local_endpoint().port(), 0};
  ASSERT_TRUE(transport_->send(to, register_request("out-1")));
  ASSERT_FALSE(await(client_io_, [&](auto h) { acceptor.async_accept(server.lowest_layer(), h); }));
  ASSERT_FALSE(await(client_io_, [&](auto h) { server.async_handshake(ssl::stream_base::server, h); }));
  std::string expected = register_request("out-1");
  std::string received(expected.size(), '\0');
  ASSERT_FALSE(await(client_io_, [&](auto h) { asio::async_read(server, asio::buffer(received), h); }));
  EXPECT_EQ(received, expected);

  // The answer comes back on that flow, as a Tls peer with its id.
  ASSERT_FALSE(await(client_io_, [&](auto h) { asio::async_write(server, asio::buffer(kResponse), h); }));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->peer.protocol, Protocol::Tls);
  EXPECT_NE(in->peer.connection, 0u);
  EXPECT_EQ(in->peer.port, to.port);
}

TEST_F(TlsWebSocketTest, StartFailsNamingAMissingOrMismatchedCertificate) {
  auto options = with_certificate(true, false);
  options.certificate_file = certificate_.folder() + "/absent.pem";
  transport_ = make_transport_layer(io_, options);
  try {
    transport_->start();
    FAIL() << "started without its certificate";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find("absent.pem"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("ssl_certificate"), std::string::npos) << error.what();
  }

  test::TestCertificate other;
  options = with_certificate(true, false);
  options.private_key_file = other.private_key_file();
  transport_ = make_transport_layer(io_, options);
  try {
    transport_->start();
    FAIL() << "started with a key of another certificate";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find("does not match"), std::string::npos) << error.what();
  }

  TransportLayer::Options no_certificate;
  no_certificate.tls_port = 0;
  no_certificate.ephemeral_ports = true;
  transport_ = make_transport_layer(io_, no_certificate);
  EXPECT_THROW(transport_->start(), std::runtime_error);
  transport_.reset();
}

TEST_F(TlsWebSocketTest, WebSocketRoundTripWithSubprotocolSip) {
  start(with_certificate(false, true));
  ASSERT_NE(transport_->ws_port(), 0);
  WsClient ws(client_io_);
  websocket::response_type response;
  ASSERT_FALSE(ws_handshake(ws, "/ws", "sip", response));
  EXPECT_EQ(response[http::field::sec_websocket_protocol], "sip");

  ws.text(true);
  std::string request = register_request("ws-1", "WS");
  ASSERT_FALSE(await(client_io_, [&](auto h) { ws.async_write(asio::buffer(request), h); }));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  ASSERT_EQ(in->parsed.status, sip::ParseStatus::Ok);
  EXPECT_EQ(in->parsed.message->call_id(), "ws-1");
  EXPECT_EQ(in->peer.protocol, Protocol::Ws);
  EXPECT_NE(in->peer.connection, 0u);
  EXPECT_EQ(in->local.protocol, Protocol::Ws);
  EXPECT_EQ(in->size, request.size());

  ASSERT_TRUE(transport_->send(in->peer, std::string(kResponse)));
  EXPECT_EQ(read_text(ws), kResponse);
  EXPECT_TRUE(ws.got_text());
  // A Ws peer is not a Wss one: the protocol must match the flow.
  Peer wrong = in->peer;
  wrong.protocol = Protocol::Wss;
  EXPECT_FALSE(transport_->send(wrong, std::string(kResponse)));
}

TEST_F(TlsWebSocketTest, SecureWebSocketOnTheSamePort) {
  start(with_certificate(false, true));
  auto context = client_tls_context();
  WssClient wss(client_io_, *context);
  wss.set_option(offering("sip"));
  ASSERT_FALSE(await(client_io_, [&](auto h) {
    beast::get_lowest_layer(wss).async_connect({kLoopback, transport_->ws_port()}, h);
  }));
  ASSERT_FALSE(await(client_io_, [&](auto h) { wss.next_layer().async_handshake(ssl::stream_base::client, h); }));
  websocket::response_type response;
  ASSERT_FALSE(await(client_io_, [&](auto h) { wss.async_handshake(response, "localhost", "/ws", h); }));
  EXPECT_EQ(response[http::field::sec_websocket_protocol], "sip");

  std::string request = register_request("wss-1", "WSS");
  ASSERT_FALSE(await(client_io_, [&](auto h) { wss.async_write(asio::buffer(request), h); }));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->peer.protocol, Protocol::Wss);
  EXPECT_EQ(in->local.protocol, Protocol::Wss);
  ASSERT_TRUE(transport_->send(in->peer, std::string(kResponse)));
  EXPECT_EQ(read_text(wss), kResponse);

  // And plain ws:// still works on that port.
  WsClient ws(client_io_);
  ASSERT_FALSE(ws_handshake(ws, "/ws", "sip", response));
}

TEST_F(TlsWebSocketTest, UpgradeOffTheHandlerPathIsNotFound) {
  auto options = with_certificate(false, true);
  options.ws_handler = "/sip";
  start(options);
  WsClient ws(client_io_);
  websocket::response_type response;
  EXPECT_TRUE(ws_handshake(ws, "/ws", "sip", response));
  EXPECT_EQ(response.result(), http::status::not_found);

  WsClient right(client_io_);
  EXPECT_FALSE(ws_handshake(right, "/sip?token=1", "sip", response));
  EXPECT_EQ(response.result(), http::status::switching_protocols);
}

TEST_F(TlsWebSocketTest, UpgradeWithoutSubprotocolSipIsRefused) {
  start(with_certificate(false, true));
  WsClient none(client_io_);
  websocket::response_type response;
  EXPECT_TRUE(ws_handshake(none, "/ws", "", response));
  EXPECT_EQ(response.result(), http::status::bad_request);

  WsClient other(client_io_);
  EXPECT_TRUE(ws_handshake(other, "/ws", "chat", response));
  EXPECT_EQ(response.result(), http::status::bad_request);

  // "sip" among others is enough, and it is the one echoed.
  WsClient listed(client_io_);
  EXPECT_FALSE(ws_handshake(listed, "/ws", "chat, sip", response));
  EXPECT_EQ(response[http::field::sec_websocket_protocol], "sip");
  EXPECT_TRUE(wait_connection_count(1));
}

TEST_F(TlsWebSocketTest, ClosedWebSocketIsReportedWithItsFlow) {
  start(with_certificate(false, true));
  WsClient ws(client_io_);
  websocket::response_type response;
  ASSERT_FALSE(ws_handshake(ws, "/ws", "sip", response));
  std::string request = register_request("ws-close", "WS");
  ASSERT_FALSE(await(client_io_, [&](auto h) { ws.async_write(asio::buffer(request), h); }));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(transport_->connection_count(), 1u);

  ASSERT_FALSE(await(client_io_, [&](auto h) { ws.async_close(websocket::close_code::normal, h); }));
  auto closed = wait_closed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->protocol, Protocol::Ws);
  EXPECT_EQ(closed->connection, in->peer.connection);
  EXPECT_TRUE(wait_connection_count(0));
  EXPECT_FALSE(transport_->send(in->peer, std::string(kResponse)));
}

TEST_F(TlsWebSocketTest, OversizeWebSocketMessageClosesTheFlowUndelivered) {
  auto options = with_certificate(false, true);
  options.limits.max_message_size = 2048;
  start(options);
  WsClient ws(client_io_);
  websocket::response_type response;
  ASSERT_FALSE(ws_handshake(ws, "/ws", "sip", response));
  std::string request = register_request("big", "WS");
  request.insert(request.size() - 4, "\r\nX-Padding: " + std::string(4000, 'x'));
  // The server may close while the frame is still being written: the write
  // can fail, the read after it must.
  await(client_io_, [&](auto h) { ws.async_write(asio::buffer(request), h); });

  error_code ec;
  read_text(ws, &ec);
  EXPECT_TRUE(ec);  // closed by the server
  EXPECT_TRUE(wait_closed());
  EXPECT_EQ(inbound_count(), 0u);
}

TEST_F(TlsWebSocketTest, ConnectionIdsAreUniqueAcrossProtocols) {
  auto options = with_certificate(true, true);
  start(options);
  tcp::socket tcp_client(client_io_);
  tcp_client.connect({kLoopback, transport_->tcp_port()});
  std::string tcp_request = register_request("tcp-id", "TCP");
  asio::write(tcp_client, asio::buffer(tcp_request));
  auto tcp_in = wait_inbound();

  auto tls = tls_client(client_tls_context());
  ASSERT_FALSE(await(client_io_, [&](auto h) { tls->async_handshake(ssl::stream_base::client, h); }));
  std::string tls_request = register_request("tls-id");
  ASSERT_FALSE(await(client_io_, [&](auto h) { asio::async_write(*tls, asio::buffer(tls_request), h); }));
  auto tls_in = wait_inbound();

  WsClient ws(client_io_);
  websocket::response_type response;
  ASSERT_FALSE(ws_handshake(ws, "/ws", "sip", response));
  std::string ws_request = register_request("ws-id", "WS");
  ASSERT_FALSE(await(client_io_, [&](auto h) { ws.async_write(asio::buffer(ws_request), h); }));
  auto ws_in = wait_inbound();

  ASSERT_TRUE(tcp_in && tls_in && ws_in);
  EXPECT_NE(tcp_in->peer.connection, tls_in->peer.connection);
  EXPECT_NE(tcp_in->peer.connection, ws_in->peer.connection);
  EXPECT_NE(tls_in->peer.connection, ws_in->peer.connection);
  EXPECT_EQ(transport_->connection_count(), 3u);
}

// The handover: the test plays the HTTP server, reads the upgrade request
// itself and gives the stream to the transport, which has no ws_port.
TEST_F(TlsWebSocketTest, HttpServerHandsAnUpgradeOver) {
  start();
  ASSERT_EQ(transport_->ws_port(), 0);
  WebSocketHandover* handover = transport_->websocket_handover();
  ASSERT_NE(handover, nullptr);

  tcp::acceptor acceptor(io_, {kLoopback, 0});
  auto serve_one = [&] {
    tcp::socket socket(asio::make_strand(io_));
    acceptor.accept(socket);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    WebSocketHandover::Request request;
    http::read(stream, buffer, request);
    handover->accept_websocket(std::move(stream), std::move(request));
  };

  for (std::string subprotocol : {"", "sip"}) {
    std::thread server(serve_one);
    WsClient ws(client_io_);
    ws.set_option(offering(subprotocol));
    ws.next_layer().connect(acceptor.local_endpoint());
    websocket::response_type response;
    error_code ec = await(client_io_, [&](auto h) { ws.async_handshake(response, "127.0.0.1", "/app/ws", h); });
    server.join();
    if (subprotocol.empty()) {
      EXPECT_TRUE(ec);
      EXPECT_EQ(response.result(), http::status::bad_request);
      continue;
    }
    ASSERT_FALSE(ec);
    EXPECT_EQ(response[http::field::sec_websocket_protocol], "sip");
    std::string request = register_request("handover-1", "WS");
    ASSERT_FALSE(await(client_io_, [&](auto h) { ws.async_write(asio::buffer(request), h); }));
    auto in = wait_inbound();
    ASSERT_TRUE(in);
    EXPECT_EQ(in->peer.protocol, Protocol::Ws);
    EXPECT_NE(in->peer.connection, 0u);
    ASSERT_TRUE(transport_->send(in->peer, std::string(kResponse)));
    EXPECT_EQ(read_text(ws), kResponse);
    ws.next_layer().close();
    auto closed = wait_closed();
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->connection, in->peer.connection);
  }
}

}  // namespace
}  // namespace cppbx::transport
