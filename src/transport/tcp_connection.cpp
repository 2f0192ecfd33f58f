// See tcp_connection.hpp for the design.
#include "transport/tcp_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace cppbx::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::string_view kPong = "\r\n";

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}
}  // namespace

TcpConnection::TcpConnection(tcp::socket socket, ConnectionId id, TransportContextPtr context,
                             std::chrono::seconds idle_timeout, LocalEndpoint local, OnClosed on_closed)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      id_(id),
      context_(std::move(context)),
      idle_timeout_(idle_timeout),
      local_(std::move(local)),
      on_closed_(std::move(on_closed)),
      framer_(context_->limits),
      read_buffer_(std::make_unique<char[]>(kReadChunk)) {
  peer_.protocol = Protocol::Tcp;
  peer_.connection = id;
  boost::system::error_code ec;
  tcp::endpoint remote = socket_.remote_endpoint(ec);
  if (!ec) {
    peer_.address = unmapped(remote.address());
    peer_.port = remote.port();
  }
}

void TcpConnection::start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->connected_ = true;
    self->touch();
    self->arm_idle_timer();
    self->read();
  });
}

void TcpConnection::connect(const tcp::endpoint& remote) {
  peer_.address = unmapped(remote.address());
  peer_.port = remote.port();
  asio::post(socket_.get_executor(), [self = shared_from_this(), remote] {
    self->touch();
    self->arm_idle_timer();
    self->socket_.async_connect(remote, [self](const boost::system::error_code& ec) {
      if (ec || self->closed_) {
        self->close_now();
        return;
      }
      self->connected_ = true;
      self->touch();
      self->read();
      self->write_next();
    });
  });
}

void TcpConnection::send(std::string bytes) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    if (self->closed_) return;
    self->enqueue(std::move(bytes));
  });
}

void TcpConnection::enqueue(std::string bytes) {
  if (queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
    close_now();
    return;
  }
  queued_bytes_ += bytes.size();
  write_queue_.push_back(std::move(bytes));
  write_next();
}

void TcpConnection::close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void TcpConnection::read() {
  socket_.async_read_some(asio::buffer(read_buffer_.get(), kReadChunk),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t size) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close_now();
                              return;
                            }
                            self->on_read(size);
                          });
}

void TcpConnection::on_read(size_t size) {
  touch();
  framer_.append(std::string_view(read_buffer_.get(), size));
  for (;;) {
    StreamFramer::Item item = framer_.next();
    switch (item.kind) {
      case StreamFramer::Kind::NeedMore:
        read();
        return;
      case StreamFramer::Kind::Error:
        close_now();
        return;
      case StreamFramer::Kind::Ping:
        enqueue(std::string(kPong));
        if (closed_) return;
        break;
      case StreamFramer::Kind::Message: {
        Inbound inbound;
        inbound.parsed = sip::parse_message(item.bytes, context_->limits);
        inbound.peer = peer_;
        inbound.local = local_;
        inbound.size = item.bytes.size();
        context_->deliver(std::move(inbound));
        if (closed_) return;
        break;
      }
    }
  }
}

void TcpConnection::write_next() {
  if (writing_ || !connected_ || closed_ || write_queue_.empty()) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(write_queue_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) {
                        self->close_now();
                        return;
                      }
                      self->touch();
                      self->queued_bytes_ -= self->write_queue_.front().size();
                      self->write_queue_.pop_front();
                      self->write_next();
                    });
}

void TcpConnection::arm_idle_timer() {
  idle_timer_.expires_at(last_activity_ + idle_timeout_);
  idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    if (std::chrono::steady_clock::now() - self->last_activity_ >= self->idle_timeout_) {
      self->close_now();
    } else {
      self->arm_idle_timer();
    }
  });
}

void TcpConnection::close_now() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  idle_timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  write_queue_.clear();
  if (on_closed_) on_closed_(*this);
  context_->closed(peer_);
}

}  // namespace cppbx::transport
