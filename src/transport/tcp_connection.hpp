// One TCP flow, accepted or opened by us. Everything a connection does runs
// on its own strand (the socket's executor), so reads, writes, the idle timer
// and close() never race; send() and close() from other threads post onto it.
//
// Idle detection avoids re-arming a timer for every read: reads and writes only
// record the time of last activity, and the timer re-arms itself for whatever
// is left of the idle period when it fires early.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "transport/stream_framer.hpp"
#include "transport/transport_context.hpp"

namespace cppbx::transport {

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  // Called once, on the strand, when the connection is gone.
  using OnClosed = std::function<void(const TcpConnection&)>;

  TcpConnection(boost::asio::ip::tcp::socket socket, ConnectionId id, TransportContextPtr context,
                std::chrono::seconds idle_timeout, LocalEndpoint local, OnClosed on_closed);

  // Accepted connection: start reading.
  void start();
  // Outgoing connection: connect, then flush what was queued meanwhile.
  void connect(const boost::asio::ip::tcp::endpoint& remote);
  void send(std::string bytes);
  void close();

  ConnectionId id() const { return id_; }
  const Peer& peer() const { return peer_; }

 private:
  void read();
  void on_read(size_t size);
  void write_next();
  void arm_idle_timer();
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  void close_now();

  static constexpr size_t kReadChunk = 8192;
  // A peer that sends but never reads would otherwise make the queue of its
  // unsent responses grow without bound; beyond this it is disconnected.
  static constexpr size_t kMaxQueuedBytes = 256 * 1024;
  boost::asio::ip::tcp::socket socket_;
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
  void enqueue(std::string bytes);
  std::chrono::steady_clock::time_point last_activity_;
  bool connected_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace cppbx::transport
