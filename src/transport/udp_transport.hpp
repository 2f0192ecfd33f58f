// UDP listener: one SO_REUSEPORT socket per I/O thread, all bound to the same
// port, so the kernel spreads datagrams over the threads. Each socket runs
// one receive at a time into its own fixed buffer: no allocation per datagram
// apart from the parsed Message itself.
//
// Sending bypasses Asio's per-object rules by calling sendto(2) with
// MSG_DONTWAIT on the native descriptor: the kernel serializes datagram sends,
// so any thread may send without a strand hop. Only when the socket buffer is
// full does a send fall back to an async_send_to on the socket's strand.
//
// Receiving has two modes. Async: async_receive_from on the socket's
// io_context (one epoll_wait + one recvfrom per datagram). Blocking (the
// default in TransportLayer::Options): one dedicated thread per socket loops
// on a blocking recvfrom and handles the datagram inline, which saves the
// epoll_wait and the reactor's bookkeeping per datagram. Those threads wake
// at least every kReceiveTimeout (SO_RCVTIMEO) to notice close(), and close()
// also shuts the read side down so a blocked receiver returns at once.
// A blocking receiver takes every datagram already queued with one
// recvmmsg(2) (at most kBatchSize), and when it got more than one, the
// answers to the peers of that batch go out together with one sendmmsg(2)
// once the batch is handled: under load (SIPp sends in bursts, phones behind
// one NAT share a socket) that saves system calls, which cost several
// microseconds each on a mitigated kernel. Datagrams to any other
// destination are sent at once, so a send error still reaches its sender.
// In blocking mode the descriptor is released from Asio: while registered
// with the reactor, every datagram would still wake that io_context's
// epoll_wait. Only if a send finds the buffer full is a dup() of it handed
// back to Asio for the async fallback.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "transport/transport_context.hpp"

namespace cppbx::transport {

class UdpListener : public std::enable_shared_from_this<UdpListener> {
 public:
  UdpListener(boost::asio::io_context& io, TransportContextPtr context);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Binds `count` sockets to address:port (port 0: ephemeral, shared by all),
  // socket i running on contexts[i % size] (the listener's io when empty).
  // Throws std::system_error on failure.
  void open(const boost::asio::ip::address& address, uint16_t port, size_t count,
            const std::vector<boost::asio::io_context*>& contexts = {});
  // blocking_receivers: see the file comment. Call once, after open().
  void start_receiving(bool blocking_receivers = false);
  bool send(const Peer& to, std::string&& bytes);
  // Stops receiving and closes the sockets. In blocking mode it joins the
  // receiver threads, which takes at most about kReceiveTimeout.
  void close();
  uint16_t port() const { return port_; }

 private:
  static constexpr size_t kReceiveBufferSize = 65536;
  static constexpr size_t kBatchSize = 8;
  static constexpr std::chrono::milliseconds kReceiveTimeout{200};
  struct ReceiveBatch;
  struct PendingSends;
  struct Socket {
    explicit Socket(boost::asio::io_context& io);
    ~Socket();
    boost::asio::strand<boost::asio::io_context::executor_type> strand;
    boost::asio::ip::udp::socket socket;
    boost::asio::ip::udp::endpoint sender;
    std::unique_ptr<char[]> buffer;       // async mode only
    int fd = -1;            // the descriptor recvfrom/sendto use
    bool owns_fd = false;   // released from Asio (blocking mode): closed by us
    std::atomic<bool> fd_closed{false};
    std::unique_ptr<ReceiveBatch> batch;  // blocking mode only
    void close_owned_fd();
  };

  void receive(Socket& socket);
  void receive_blocking(Socket& socket);
  void on_datagram(std::string_view bytes, const boost::asio::ip::udp::endpoint& sender);
  void handle_batch(Socket& socket, size_t count);
  void flush(Socket& socket, PendingSends& pending);
  void join_receivers();
  std::optional<boost::asio::ip::udp::endpoint> destination_for(const Peer& to) const;
  void send_later(Socket& socket, const boost::asio::ip::udp::endpoint& to, std::string&& bytes);

  boost::asio::io_context& io_;
  TransportContextPtr context_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  LocalEndpoint local_;
  uint16_t port_ = 0;
  std::atomic<size_t> next_sender_{0};
  std::atomic<bool> closed_{false};
  std::vector<std::thread> receivers_;  // blocking mode only
  // The batch whose answers this thread is gathering, if any.
  static thread_local PendingSends* pending_sends_;
};

}  // namespace cppbx::transport
