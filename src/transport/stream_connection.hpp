// One TCP or TLS flow, accepted or opened by us: a template over the stream
// type (tcp::socket or ssl::stream<tcp::socket>), since framing, queueing,
// the idle timer and closing are the same and only the handshake differs.
// The two instantiations are compiled once, in stream_connection.cpp.
//
// Everything a connection does runs on its own strand (the socket's
// executor), so reads, writes, the idle timer and close() never race; send()
// and close() from other threads post onto it.
//
// Idle detection avoids re-arming a timer for every read: reads and writes only
// record the time of last activity, and the timer re-arms itself for whatever
// is left of the idle period when it fires early. The timer runs from the
// start, so it also bounds a TLS handshake that never completes.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transport/flow.hpp"
#include "transport/stream_framer.hpp"
#include "transport/transport_context.hpp"

namespace cppbx::transport {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

template <class Stream>
class StreamConnection final : public Flow, public std::enable_shared_from_this<StreamConnection<Stream>> {
 public:
  static constexpr bool kIsTls = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;
  // Called once, on the strand, when the connection is gone.
  using OnClosed = std::function<void(const Flow&)>;

  StreamConnection(Stream stream, ConnectionId id, TransportContextPtr context,
                   std::chrono::seconds idle_timeout, LocalEndpoint local, OnClosed on_closed);

  // Accepted connection: (TLS: server handshake, then) start reading.
  void start();
  // Outgoing connection: connect (TLS: client handshake), then flush what was
  // queued meanwhile.
  void connect(const boost::asio::ip::tcp::endpoint& remote);
  void send(std::string bytes) override;
  void close() override;

  ConnectionId id() const override { return id_; }
  const Peer& peer() const override { return peer_; }

 private:
  void established();
  void read();
  void on_read(size_t size);
  void write_next();
  void arm_idle_timer();
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  void enqueue(std::string bytes);
  void close_now();
  typename Stream::lowest_layer_type& socket() { return stream_.lowest_layer(); }

  static constexpr size_t kReadChunk = 8192;
  // A peer that sends but never reads would otherwise make the queue of its
  // unsent responses grow without bound; beyond this it is disconnected.
  static constexpr size_t kMaxQueuedBytes = 256 * 1024;
  Stream stream_;
  boost::asio::steady_timer idle_timer_;
  ConnectionId id_;
  TransportContextPtr context_;
  std::chrono::seconds idle_timeout_;
  LocalEndpoint local_;
  OnClosed on_closed_;
  Peer peer_;
  StreamFramer framer_;
  std::unique_ptr<char[]> read_buffer_;
  std::deque<std::string> write_queue_;
  size_t queued_bytes_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  bool connected_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

using TcpConnection = StreamConnection<boost::asio::ip::tcp::socket>;
using TlsConnection = StreamConnection<TlsStream>;
extern template class StreamConnection<boost::asio::ip::tcp::socket>;
extern template class StreamConnection<TlsStream>;

// IPv4-mapped IPv6 addresses (dual-stack listeners) as plain IPv4.
boost::asio::ip::address unmapped(const boost::asio::ip::address& address);

}  // namespace cppbx::transport
