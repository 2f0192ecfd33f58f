// See udp_transport.hpp for the design.
#include "transport/udp_transport.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

namespace cppbx::transport {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
// SO_REUSEPORT is not wrapped by Asio.
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Peers are reported with plain IPv4 addresses even on a dual-stack socket.
asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}
}  // namespace

// What one recvmmsg fills: kBatchSize buffers and their senders.
struct UdpListener::ReceiveBatch {
  // Not zeroed: pages no datagram reaches are never touched.
  std::unique_ptr<char[]> buffers = std::make_unique_for_overwrite<char[]>(kBatchSize * kReceiveBufferSize);
  std::array<mmsghdr, kBatchSize> headers{};
  std::array<iovec, kBatchSize> vectors{};
  std::array<udp::endpoint, kBatchSize> senders{};  // recvmmsg writes the addresses into them

  ReceiveBatch() {
    for (size_t i = 0; i < kBatchSize; ++i) {
      vectors[i] = {buffers.get() + i * kReceiveBufferSize, kReceiveBufferSize};
      headers[i].msg_hdr.msg_iov = &vectors[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_name = senders[i].data();
    }
  }
  // recvmmsg overwrites the lengths.
  void reset() {
    for (size_t i = 0; i < kBatchSize; ++i) {
      headers[i].msg_hdr.msg_namelen = static_cast<socklen_t>(senders[i].capacity());
    }
  }
  std::string_view bytes(size_t i) const { return {buffers.get() + i * kReceiveBufferSize, headers[i].msg_len}; }
  void read_sender(size_t i) { senders[i].resize(headers[i].msg_hdr.msg_namelen); }
};

// Datagrams a batch's handlers sent to that batch's peers, sent together
// when the batch is done.
struct UdpListener::PendingSends {
  const UdpListener* listener = nullptr;
  std::span<const udp::endpoint> peers;
  std::vector<std::pair<udp::endpoint, std::string>> datagrams;

  bool holds_for(const UdpListener* sender, const udp::endpoint& to) const {
    if (sender != listener) return false;
    for (const udp::endpoint& peer : peers)
      if (peer == to) return true;
    return false;
  }
};

thread_local UdpListener::PendingSends* UdpListener::pending_sends_ = nullptr;

std::optional<udp::endpoint> UdpListener::destination_for(const Peer& to) const {
  if (local_.address.is_v6()) {
    if (to.address.is_v4()) {
      return udp::endpoint(asio::ip::make_address_v6(asio::ip::v4_mapped, to.address.to_v4()), to.port);
    }
    return udp::endpoint(to.address, to.port);
  }
  asio::ip::address address = unmapped(to.address);
  if (!address.is_v4()) return std::nullopt;
  return udp::endpoint(address, to.port);
}

UdpListener::Socket::Socket(asio::io_context& io)
    : strand(asio::make_strand(io)),
      socket(strand) {}

UdpListener::Socket::~Socket() = default;

UdpListener::UdpListener(asio::io_context& io, TransportContextPtr context)
    : io_(io), context_(std::move(context)) {}

void UdpListener::open(const asio::ip::address& address, uint16_t port, size_t count,
                       const std::vector<asio::io_context*>& contexts) {
  if (count == 0) count = 1;
  uint16_t bound_port = port;
  for (size_t i = 0; i < count; ++i) {
    asio::io_context* context = contexts.empty() ? nullptr : contexts[i % contexts.size()];
    auto socket = std::make_unique<Socket>(context != nullptr ? *context : io_);
    udp::endpoint endpoint(address, bound_port);
    boost::system::error_code ec;
    socket->socket.open(endpoint.protocol(), ec);
    if (!ec) socket->socket.set_option(udp::socket::reuse_address(true), ec);
    if (!ec) socket->socket.set_option(reuse_port(true), ec);
    if (!ec) socket->socket.bind(endpoint, ec);
    if (ec) {
      throw std::system_error(ec, "cannot bind UDP " + address.to_string() + ":" +
                                      std::to_string(bound_port));
    }
    // The first socket may have got an ephemeral port: the others share it.
    bound_port = socket->socket.local_endpoint().port();
    socket->fd = socket->socket.native_handle();
    sockets_.push_back(std::move(socket));
  }
  port_ = bound_port;
  local_ = {Protocol::Udp, address, bound_port};
}

void UdpListener::Socket::close_owned_fd() {
  if (owns_fd && !fd_closed.exchange(true)) ::close(fd);
}

UdpListener::~UdpListener() {
  closed_ = true;
  for (auto& socket : sockets_) {
    if (socket->owns_fd && !socket->fd_closed) ::shutdown(socket->fd, SHUT_RD);
  }
  join_receivers();
  for (auto& socket : sockets_) socket->close_owned_fd();
}

void UdpListener::start_receiving(bool blocking_receivers) {
  if (blocking_receivers) {
    for (auto& socket : sockets_) {
      // The timeout bounds how long close() waits should shutdown() not wake
      // a receiver; the thread only wakes when idle.
      timeval timeout{0, static_cast<suseconds_t>(kReceiveTimeout.count() * 1000)};
      boost::system::error_code ec;
      socket->socket.release(ec);
      if (ec) throw std::system_error(ec, "cannot release UDP socket from Asio");
      socket->owns_fd = true;
      ::setsockopt(socket->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      socket->batch = std::make_unique<ReceiveBatch>();
      receivers_.emplace_back([this, s = socket.get()] { receive_blocking(*s); });
    }
    return;
  }
  for (auto& socket : sockets_) {
    socket->buffer = std::make_unique_for_overwrite<char[]>(kReceiveBufferSize);
    asio::post(socket->strand, [self = shared_from_this(), s = socket.get()] { self->receive(*s); });
  }
}

void UdpListener::receive(Socket& socket) {
  socket.socket.async_receive_from(
      asio::buffer(socket.buffer.get(), kReceiveBufferSize), socket.sender,
      [self = shared_from_this(), s = &socket](const boost::system::error_code& ec, size_t size) {
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || self->closed_) return;
        // Other errors (e.g. ICMP feedback) concern one datagram: keep going.
        if (!ec) self->on_datagram(std::string_view(s->buffer.get(), size), s->sender);
        self->receive(*s);
      });
}

void UdpListener::receive_blocking(Socket& socket) {
  const int fd = socket.fd;
  ReceiveBatch& batch = *socket.batch;
  while (!closed_.load(std::memory_order_acquire)) {
    batch.reset();
    // MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first datagram only.
    int count = ::recvmmsg(fd, batch.headers.data(), kBatchSize, MSG_WAITFORONE, nullptr);
    if (closed_.load(std::memory_order_acquire)) return;
    if (count > 0) {
      handle_batch(socket, static_cast<size_t>(count));
      continue;
    }
    switch (errno) {
      case EAGAIN:
#if EWOULDBLOCK != EAGAIN
      case EWOULDBLOCK:
#endif
      {
        // Either SO_RCVTIMEO expired, or the descriptor became non-blocking
        // because a full send buffer made send_later() use Asio: wait in
        // poll so that case does not spin.
        pollfd readable{fd, POLLIN, 0};
        ::poll(&readable, 1, static_cast<int>(kReceiveTimeout.count()));
        break;
      }
      case EBADF:
      case ENOTSOCK:
      case EINVAL:
      case EFAULT:
        return;  // the socket is unusable: retrying would spin
      default:
        break;   // EINTR, ICMP feedback (ECONNREFUSED ...): one datagram only
    }
  }
}

void UdpListener::join_receivers() {
  for (auto& receiver : receivers_) {
    if (!receiver.joinable()) continue;
    // A handler that closes the listener runs on a receiver: it cannot join itself.
    if (receiver.get_id() == std::this_thread::get_id()) {
      receiver.detach();
    } else {
      receiver.join();
    }
  }
  receivers_.clear();
}

void UdpListener::handle_batch(Socket& socket, size_t count) {
  ReceiveBatch& batch = *socket.batch;
  for (size_t i = 0; i < count; ++i) batch.read_sender(i);
  if (count == 1) {  // nothing to gather: answers go out at once, as before
    on_datagram(batch.bytes(0), batch.senders[0]);
    return;
  }
  PendingSends pending{this, std::span<const udp::endpoint>(batch.senders.data(), count), {}};
  {
    struct Gathering {  // no dangling pointer should a handler throw
      explicit Gathering(PendingSends& into) { pending_sends_ = &into; }
      ~Gathering() { pending_sends_ = nullptr; }
    } gathering(pending);
    for (size_t i = 0; i < count && !closed_.load(std::memory_order_acquire); ++i) {
      on_datagram(batch.bytes(i), batch.senders[i]);
    }
  }
  flush(socket, pending);
}

void UdpListener::flush(Socket& socket, PendingSends& pending) {
  auto& datagrams = pending.datagrams;
  if (datagrams.empty() || closed_.load(std::memory_order_acquire)) return;
  std::vector<iovec> vectors(datagrams.size());
  std::vector<mmsghdr> headers(datagrams.size());
  for (size_t i = 0; i < datagrams.size(); ++i) {
    auto& [to, bytes] = datagrams[i];
    vectors[i] = {bytes.data(), bytes.size()};
    headers[i].msg_hdr.msg_name = to.data();
    headers[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
    headers[i].msg_hdr.msg_iov = &vectors[i];
    headers[i].msg_hdr.msg_iovlen = 1;
  }
  size_t done = 0;
  while (done < datagrams.size()) {
    int sent = ::sendmmsg(socket.fd, headers.data() + done, static_cast<unsigned>(datagrams.size() - done),
                          MSG_DONTWAIT);
    if (sent > 0) {
      done += static_cast<size_t>(sent);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      for (; done < datagrams.size(); ++done) {
        send_later(socket, datagrams[done].first, std::move(datagrams[done].second));
      }
    } else if (errno != EINTR) {
      ++done;  // this one datagram failed (ICMP feedback ...): go on with the rest
    }
  }
}

void UdpListener::on_datagram(std::string_view bytes, const udp::endpoint& sender) {
  Inbound inbound;
  inbound.parsed = sip::parse_message(bytes, context_->limits);
  inbound.peer = {Protocol::Udp, unmapped(sender.address()), sender.port(), 0};
  inbound.local = local_;
  inbound.size = bytes.size();
  context_->deliver(std::move(inbound));
}

bool UdpListener::send(const Peer& to, std::string&& bytes) {
  if (sockets_.empty() || closed_) return false;
  Socket& socket = *sockets_[next_sender_.fetch_add(1, std::memory_order_relaxed) % sockets_.size()];
  std::optional<udp::endpoint> endpoint = destination_for(to);
  if (!endpoint) return false;
  if (pending_sends_ != nullptr && pending_sends_->holds_for(this, *endpoint)) {
    pending_sends_->datagrams.emplace_back(*endpoint, std::move(bytes));
    return true;
  }
  ssize_t sent = ::sendto(socket.fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
                          endpoint->data(), static_cast<socklen_t>(endpoint->size()));
  if (sent >= 0) return true;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    send_later(socket, *endpoint, std::move(bytes));
    return true;
  }
  return false;
}

void UdpListener::send_later(Socket& socket, const udp::endpoint& to, std::string&& bytes) {
  auto payload = std::make_shared<std::string>(std::move(bytes));
  asio::post(socket.strand, [self = shared_from_this(), s = &socket, to, payload] {
    if (!s->socket.is_open()) {
      // Blocking mode: give Asio a duplicate of the released descriptor.
      if (s->fd_closed) return;
      int duplicate = ::dup(s->fd);
      if (duplicate < 0) return;
      boost::system::error_code ec;
      s->socket.assign(to.protocol(), duplicate, ec);
      if (ec) {
        ::close(duplicate);
        return;
      }
    }
    s->socket.async_send_to(asio::buffer(*payload), to,
                            [payload](const boost::system::error_code&, size_t) {});
  });
}

void UdpListener::close() {
  if (closed_.exchange(true)) return;
  if (!receivers_.empty()) {
    // Wakes receivers blocked in recvfrom (Linux does so even for an
    // unconnected UDP socket, though it reports ENOTCONN).
    for (auto& socket : sockets_) ::shutdown(socket->fd, SHUT_RD);
    join_receivers();
  }
  for (auto& socket : sockets_) {
    asio::post(socket->strand, [self = shared_from_this(), s = socket.get()] {
      boost::system::error_code ignored;
      s->socket.close(ignored);
      s->close_owned_fd();
    });
  }
}

}  // namespace cppbx::transport
