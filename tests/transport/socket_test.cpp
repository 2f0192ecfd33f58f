// The transport on real sockets (127.0.0.1, ephemeral ports): UDP in and
// out, TCP framing, keep-alive, idle close, connection cap, responses on the
// request's connection, and outgoing TCP flows.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "transport/transport.hpp"

namespace cppbx::transport {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using asio::ip::tcp;
using asio::ip::udp;

std::string message(std::string_view call_id, std::string_view body = {}) {
  return "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n"
         "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: " + std::string(call_id) +
         "\r\nCSeq: 1 OPTIONS\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

class SocketTest : public ::testing::Test {
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

  void TearDown() override {
    if (transport_) transport_->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  std::optional<Inbound> wait_inbound(std::chrono::milliseconds limit = 2000ms) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, limit, [&] { return !inbound_.empty(); })) return std::nullopt;
    Inbound in = std::move(inbound_.front());
    inbound_.pop_front();
    return in;
  }
  bool wait_closed(size_t count, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return closed_.size() >= count; });
  }
  size_t inbound_count() {
    std::lock_guard lock(mutex_);
    return inbound_.size();
  }
  size_t closed_count() {
    std::lock_guard lock(mutex_);
    return closed_.size();
  }

  tcp::socket connect_client() {
    tcp::socket socket(client_io_);
    socket.connect({kLoopback, transport_->tcp_port()});
    return socket;
  }
  // Reads until `count` bytes arrived, EOF, or the timeout.
  std::string read_some_bytes(tcp::socket& socket, size_t count, std::chrono::milliseconds limit,
                              boost::system::error_code* error = nullptr) {
    socket.non_blocking(true);
    std::string out;
    char buffer[4096];
    auto end = std::chrono::steady_clock::now() + limit;
    while (out.size() < count && std::chrono::steady_clock::now() < end) {
      boost::system::error_code ec;
      size_t n = socket.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(2ms);
        continue;
      }
      if (ec) {
        if (error) *error = ec;
        break;
      }
      out.append(buffer, n);
    }
    return out;
  }

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

TEST_F(SocketTest, UdpDatagramReachesHandlerWithItsSource) {
  TransportLayer::Options options;
  options.udp_sockets = 2;
  start(options);
  ASSERT_NE(transport_->udp_port(), 0);
  udp::socket client(client_io_, {kLoopback, 0});
  std::string m = message("udp-1");
  client.send_to(asio::buffer(m), {kLoopback, transport_->udp_port()});
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->parsed.status, sip::ParseStatus::Ok);
  EXPECT_EQ(in->parsed.message->call_id(), "udp-1");
  EXPECT_EQ(in->peer.protocol, Protocol::Udp);
  EXPECT_EQ(in->peer.port, client.local_endpoint().port());
  EXPECT_EQ(in->peer.address, kLoopback);
  EXPECT_EQ(in->local.port, transport_->udp_port());
  EXPECT_EQ(in->size, m.size());

  // And back: send() reaches the peer as one datagram.
  ASSERT_TRUE(transport_->send(in->peer, "SIP/2.0 200 OK\r\n\r\n"));
  char buffer[2048];
  udp::endpoint from;
  client.non_blocking(false);
  size_t n = client.receive_from(asio::buffer(buffer), from);
  EXPECT_EQ(std::string_view(buffer, n), "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(from.port(), transport_->udp_port());
}

TEST_F(SocketTest, UdpGarbageIsDeliveredAsParseError) {
  start();
  udp::socket client(client_io_, {kLoopback, 0});
  client.send_to(asio::buffer(std::string("\x01\x02garbage")), {kLoopback, transport_->udp_port()});
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_NE(in->parsed.status, sip::ParseStatus::Ok);
}

TEST_F(SocketTest, UdpAsyncReceivePathStillWorks) {
  TransportLayer::Options options;
  options.udp_blocking_receivers = false;
  options.udp_sockets = 2;
  start(options);
  udp::socket client(client_io_, {kLoopback, 0});
  client.send_to(asio::buffer(message("async-1")), {kLoopback, transport_->udp_port()});
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  ASSERT_EQ(in->parsed.status, sip::ParseStatus::Ok);
  EXPECT_EQ(in->parsed.message->call_id(), "async-1");
  EXPECT_EQ(in->peer.port, client.local_endpoint().port());
}

// Blocking receivers, without the fixture: nobody runs the io_context, so a
// datagram can only reach the handler through a receiver thread.
class BlockingReceiverTest : public ::testing::Test {
 protected:
  void start(size_t sockets) {
    TransportLayer::Options options;
    options.address = "127.0.0.1";
    options.udp_port = 0;
    options.tcp_port = 0;
    options.ephemeral_ports = true;
    options.udp_sockets = sockets;
    options.udp_blocking_receivers = true;
    transport_ = make_transport_layer(io_, options);
    transport_->set_inbound_handler([this](Inbound&& in) {
      std::lock_guard lock(mutex_);
      call_ids_.emplace_back(in.parsed.message ? std::string(in.parsed.message->call_id()) : "");
      handler_threads_.push_back(std::this_thread::get_id());
      cv_.notify_all();
    });
    transport_->start();
  }
  bool wait_for_count(size_t count, std::chrono::milliseconds limit = 2000ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return call_ids_.size() >= count; });
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::unique_ptr<TransportLayer> transport_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> call_ids_;
  std::vector<std::thread::id> handler_threads_;
};

TEST_F(BlockingReceiverTest, DatagramReachesHandlerWithoutAnIoThread) {
  start(2);
  udp::socket client(client_io_, {kLoopback, 0});
  for (int i = 0; i < 20; ++i) {
    client.send_to(asio::buffer(message("blocking-" + std::to_string(i))), {kLoopback, transport_->udp_port()});
  }
  ASSERT_TRUE(wait_for_count(20));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(call_ids_.front(), "blocking-0");
  for (auto id : handler_threads_) EXPECT_NE(id, std::this_thread::get_id());
  transport_->stop();
}

TEST_F(BlockingReceiverTest, StopReturnsPromptlyWhileReceiversAreBlocked) {
  start(2);
  std::this_thread::sleep_for(50ms);  // let both receivers block in recvfrom
  auto before = std::chrono::steady_clock::now();
  transport_->stop();
  auto took = std::chrono::steady_clock::now() - before;
  EXPECT_LT(took, 150ms);  // woken by shutdown(), not by the 200 ms timeout

  // Nothing is received any more once stop() returned.
  udp::socket client(client_io_, {kLoopback, 0});
  boost::system::error_code ignored;
  client.send_to(asio::buffer(message("late")), {kLoopback, transport_->udp_port()}, 0, ignored);
  EXPECT_FALSE(wait_for_count(1, 300ms));
}

TEST_F(BlockingReceiverTest, DestroyingTheLayerWithoutStopJoinsReceivers) {
  start(1);
  auto before = std::chrono::steady_clock::now();
  transport_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

// The receiver answers every datagram on its own thread. The first handler
// waits until every client datagram is queued, so the next receive takes
// several at once: the batch path, whose answers go out together.
class BatchedAnswersTest : public ::testing::Test {
 protected:
  void start(std::function<void(const Inbound&)> on_each) {
    TransportLayer::Options options;
    options.address = "127.0.0.1";
    options.udp_port = 0;
    options.tcp_port = 0;
    options.ephemeral_ports = true;
    options.udp_sockets = 1;
    options.udp_blocking_receivers = true;
    transport_ = make_transport_layer(io_, options);
    transport_->set_inbound_handler([this, on_each](Inbound&& in) {
      if (handled_++ == 0) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, 2s, [&] { return all_sent_; });
      }
      on_each(in);
      std::string call_id(in.parsed.message ? in.parsed.message->call_id() : "");
      EXPECT_TRUE(transport_->send(in.peer, "answer " + call_id));
    });
    transport_->start();
  }
  void release_first_handler() {
    std::lock_guard lock(mutex_);
    all_sent_ = true;
    cv_.notify_all();
  }
  // Reads datagrams until `count` arrived or nothing came for a second.
  static std::vector<std::string> receive(udp::socket& socket, size_t count) {
    std::vector<std::string> out;
    socket.non_blocking(true);
    char buffer[2048];
    auto give_up = std::chrono::steady_clock::now() + 2s;
    while (out.size() < count && std::chrono::steady_clock::now() < give_up) {
      boost::system::error_code ec;
      udp::endpoint from;
      size_t n = socket.receive_from(asio::buffer(buffer), from, 0, ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      if (!ec) out.emplace_back(buffer, n);
    }
    return out;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::unique_ptr<TransportLayer> transport_;
  std::atomic<int> handled_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool all_sent_ = false;
};

TEST_F(BatchedAnswersTest, EveryPeerGetsItsAnswersInOrder) {
  start([](const Inbound&) {});
  udp::socket alice(client_io_, {kLoopback, 0}), bob(client_io_, {kLoopback, 0});
  const udp::endpoint server{kLoopback, transport_->udp_port()};
  for (int i = 0; i < 12; ++i) {
    alice.send_to(asio::buffer(message("alice-" + std::to_string(i))), server);
    bob.send_to(asio::buffer(message("bob-" + std::to_string(i))), server);
  }
  release_first_handler();
  std::vector<std::string> to_alice = receive(alice, 12), to_bob = receive(bob, 12);
  ASSERT_EQ(to_alice.size(), 12u);
  ASSERT_EQ(to_bob.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(to_alice[i], "answer alice-" + std::to_string(i));
    EXPECT_EQ(to_bob[i], "answer bob-" + std::to_string(i));
  }
  transport_->stop();
}

TEST_F(BatchedAnswersTest, ADatagramToAnotherPeerDuringABatchGoesOutAtOnce) {
  udp::socket carol(client_io_, {kLoopback, 0});
  carol.non_blocking(true);
  const Peer carol_peer{Protocol::Udp, kLoopback, carol.local_endpoint().port(), 0};
  std::atomic<int> seen_at_once{0};
  start([&](const Inbound& in) {
    if (in.parsed.message == nullptr || in.parsed.message->call_id() != "alice-2") return;
    // Handled inside a batch (alice-1 to alice-3 were queued together):
    // carol was not in it, so her datagram must already be on its way.
    ASSERT_TRUE(transport_->send(carol_peer, "to carol"));
    char buffer[64];
    boost::system::error_code ec;
    for (int attempt = 0; attempt < 500; ++attempt) {
      size_t n = carol.receive(asio::buffer(buffer), 0, ec);
      if (!ec) {
        if (std::string_view(buffer, n) == "to carol") ++seen_at_once;
        return;
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  udp::socket alice(client_io_, {kLoopback, 0});
  const udp::endpoint server{kLoopback, transport_->udp_port()};
  for (int i = 0; i < 4; ++i) alice.send_to(asio::buffer(message("alice-" + std::to_string(i))), server);
  release_first_handler();
  EXPECT_EQ(receive(alice, 4).size(), 4u);
  EXPECT_EQ(seen_at_once.load(), 1);
  transport_->stop();
}

TEST_F(SocketTest, TcpTwoMessagesInOneSegment) {
  start();
  tcp::socket client = connect_client();
  asio::write(client, asio::buffer(message("first", "body") + message("second")));
  auto a = wait_inbound();
  auto b = wait_inbound();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->parsed.message->call_id(), "first");
  EXPECT_EQ(a->parsed.message->body(), "body");
  EXPECT_EQ(b->parsed.message->call_id(), "second");
  EXPECT_EQ(a->peer.protocol, Protocol::Tcp);
  EXPECT_NE(a->peer.connection, 0u);
  EXPECT_EQ(a->peer.connection, b->peer.connection);
  EXPECT_EQ(a->peer.port, client.local_endpoint().port());
}

TEST_F(SocketTest, TcpMessageSplitAcrossSegments) {
  start();
  tcp::socket client = connect_client();
  std::string m = message("split", "0123456789");
  asio::write(client, asio::buffer(m.substr(0, 40)));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(inbound_count(), 0u);
  asio::write(client, asio::buffer(m.substr(40)));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->parsed.message->body(), "0123456789");
}

TEST_F(SocketTest, TcpKeepAlivePingGetsPong) {
  start();
  tcp::socket client = connect_client();
  asio::write(client, asio::buffer(std::string("\r\n\r\n")));
  EXPECT_EQ(read_some_bytes(client, 2, 1000ms), "\r\n");
  // The flow is still usable afterwards.
  asio::write(client, asio::buffer(message("after-ping")));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->parsed.message->call_id(), "after-ping");
}

TEST_F(SocketTest, TcpPeerThatNeverReadsIsDisconnected) {
  start();
  tcp::socket client = connect_client();
  client.set_option(asio::socket_base::receive_buffer_size(4096));
  // Keep-alive pings make the server queue pongs the client never reads;
  // once its bounded queue is full the server must hang up, not grow.
  std::string burst;
  for (size_t i = 0; i < 16 * 1024; ++i) burst += "\r\n\r\n";
  boost::system::error_code error;
  size_t sent = 0;
  while (!error && sent < (256u << 20) && closed_count() == 0) {
    sent += asio::write(client, asio::buffer(burst), error);
  }
  EXPECT_TRUE(wait_closed(1, 5000ms)) << "still open after " << sent << " bytes of pings";
}

TEST_F(SocketTest, TcpResponseGoesBackOnSameConnection) {
  start();
  tcp::socket client = connect_client();
  asio::write(client, asio::buffer(message("req")));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  ASSERT_TRUE(transport_->send(in->peer, response));
  EXPECT_EQ(read_some_bytes(client, response.size(), 1000ms), response);
  EXPECT_EQ(transport_->connection_count(), 1u);
}

TEST_F(SocketTest, TcpIdleConnectionIsClosed) {
  TransportLayer::Options options;
  options.tcp_idle_timeout = 1s;
  start(options);
  tcp::socket client = connect_client();
  asio::write(client, asio::buffer(message("then-silence")));
  ASSERT_TRUE(wait_inbound());
  boost::system::error_code ec;
  read_some_bytes(client, 1, 3000ms, &ec);
  EXPECT_EQ(ec, asio::error::eof);
  ASSERT_TRUE(wait_closed(1, 1000ms));
  EXPECT_EQ(closed_[0].protocol, Protocol::Tcp);
  EXPECT_EQ(transport_->connection_count(), 0u);
}

TEST_F(SocketTest, TcpUnframeableStreamIsClosed) {
  start();
  tcp::socket client = connect_client();
  asio::write(client, asio::buffer(std::string(
                          "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n")));
  boost::system::error_code ec;
  read_some_bytes(client, 1, 2000ms, &ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_TRUE(wait_closed(1, 1000ms));
  EXPECT_EQ(inbound_count(), 0u);
}

TEST_F(SocketTest, TcpConnectionCapRefusesExtraConnections) {
  TransportLayer::Options options;
  options.max_tcp_connections = 1;
  start(options);
  tcp::socket first = connect_client();
  asio::write(first, asio::buffer(message("one")));
  ASSERT_TRUE(wait_inbound());
  tcp::socket second = connect_client();
  boost::system::error_code ec;
  read_some_bytes(second, 1, 2000ms, &ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(transport_->connection_count(), 1u);
}

TEST_F(SocketTest, TcpSendToUnknownConnectionFails) {
  start();
  Peer gone{Protocol::Tcp, kLoopback, 5060, 424242};
  EXPECT_FALSE(transport_->send(gone, "x"));
}

TEST_F(SocketTest, TcpOutgoingConnectionIsOpenedAndReused) {
  start();
  tcp::acceptor acceptor(client_io_, {kLoopback, 0});
  Peer to{Protocol::Tcp, kLoopback, acceptor.local_endpoint().port(), 0};
  std::string first = message("out-1");
  std::string second = message("out-2");
  ASSERT_TRUE(transport_->send(to, first));
  tcp::socket accepted(client_io_);
  acceptor.accept(accepted);
  ASSERT_TRUE(transport_->send(to, second));
  EXPECT_EQ(read_some_bytes(accepted, first.size() + second.size(), 2000ms), first + second);
  EXPECT_EQ(transport_->connection_count(), 1u);

  // Requests coming back on that flow carry its connection id.
  asio::write(accepted, asio::buffer(message("back")));
  auto in = wait_inbound();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->peer.protocol, Protocol::Tcp);
  EXPECT_NE(in->peer.connection, 0u);
  EXPECT_EQ(in->peer.port, acceptor.local_endpoint().port());
}

TEST(PeerText, FormatsProtocolAddressAndPort) {
  Peer v4{Protocol::Udp, asio::ip::make_address("192.0.2.1"), 5060, 0};
  Peer v6{Protocol::Tcp, asio::ip::make_address("::1"), 5070, 3};
  EXPECT_EQ(v4.to_string(), "udp:192.0.2.1:5060");
  EXPECT_EQ(v6.to_string(), "tcp:[::1]:5070");
  EXPECT_TRUE(is_reliable(Protocol::Tcp));
  EXPECT_FALSE(is_reliable(Protocol::Udp));
  EXPECT_EQ(via_transport(Protocol::Tls), "TLS");
}

TEST(TransportStart, BusyPortThrowsClearError) {
  asio::io_context io;
  udp::socket holder(io, {kLoopback, 0});  // no SO_REUSEPORT: the port is taken
  TransportLayer::Options options;
  options.address = "127.0.0.1";
  options.udp_port = holder.local_endpoint().port();
  options.tcp_port = 0;
  auto transport = make_transport_layer(io, options);
  EXPECT_THROW(transport->start(), std::system_error);
}

}  // namespace
}  // namespace cppbx::transport
