// UDP listener: one SO_REUSEPORT socket per I/O thread, all bound to the same
// port, so the kernel spreads datagrams over the threads. Each socket runs
// one receive at a time into its own fixed buffer: no allocation per datagram
// apart from the parsed Message itself.
//
// Sending bypasses Asio's per-object rules by calling sendto(2) with
// MSG_DONTWAIT on the native descriptor: the kernel serializes datagram sends,
// so any thread may send without a strand hop. Only when the socket buffer is
// full does a send fall back to an async_send_to on the socket's strand.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "transport/transport_context.hpp"

namespace cppbx::transport {

class UdpListener : public std::enable_shared_from_this<UdpListener> {
 public:
  UdpListener(boost::asio::io_context& io, TransportContextPtr context);

  // Binds `count` sockets to address:port (port 0: ephemeral, shared by all),
  // socket i running on contexts[i % size] (the listener's io when empty).
  // Throws std::system_error on failure.
  void open(const boost::asio::ip::address& address, uint16_t port, size_t count,
            const std::vector<boost::asio::io_context*>& contexts = {});
  void start_receiving();
  bool send(const Peer& to, std::string&& bytes);
  void close();
  uint16_t port() const { return port_; }

 private:
  static constexpr size_t kReceiveBufferSize = 65536;
  struct Socket {
    explicit Socket(boost::asio::io_context& io);
    boost::asio::strand<boost::asio::io_context::executor_type> strand;
    boost::asio::ip::udp::socket socket;
    boost::asio::ip::udp::endpoint sender;
    std::unique_ptr<char[]> buffer;
  };

  void receive(Socket& socket);
  void on_datagram(Socket& socket, size_t size);
  std::optional<boost::asio::ip::udp::endpoint> destination_for(const Peer& to) const;
  void send_later(Socket& socket, const boost::asio::ip::udp::endpoint& to, std::string&& bytes);

  boost::asio::io_context& io_;
  TransportContextPtr context_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  LocalEndpoint local_;
  uint16_t port_ = 0;
  std::atomic<size_t> next_sender_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace cppbx::transport
