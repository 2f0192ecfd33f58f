// See stream_connection.hpp for the design. The TLS-only steps are chosen at
// compile time (kIsTls); everything else is shared by TCP and TLS.
#include "transport/stream_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

namespace cppbx::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::string_view kPong = "\r\n";
}  // namespace

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

template <class Stream>
StreamConnection<Stream>::StreamConnection(Stream stream, ConnectionId id, TransportContextPtr context,
                                           std::chrono::seconds idle_timeout, LocalEndpoint local,
                                           OnClosed on_closed)
    : stream_(std::move(stream)),
      idle_timer_(stream_.get_executor()),
      id_(id),
      context_(std::move(context)),
      idle_timeout_(idle_timeout),
      local_(std::move(local)),
      on_closed_(std::move(on_closed)),
      framer_(context_->limits),
      read_buffer_(std::make_unique<char[]>(kReadChunk)) {
  peer_.protocol = kIsTls ? Protocol::Tls : Protocol::Tcp;
  peer_.connection = id;
  boost::system::error_code ec;
  tcp::endpoint remote = socket().remote_endpoint(ec);
  if (!ec) {
    peer_.address = unmapped(remote.address());
    peer_.port = remote.port();
  }
}

template <class Stream>
void StreamConnection<Stream>::start() {
  asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
    self->touch();
    self->arm_idle_timer();
    if constexpr (kIsTls) {
      self->stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self](const boost::system::error_code& ec) {
                                      if (ec || self->closed_) {
                                        self->close_now();
                                        return;
                                      }
                                      self->established();
                                    });
    } else {
      self->established();
    }
  });
}

template <class Stream>
void StreamConnection<Stream>::connect(const tcp::endpoint& remote) {
  peer_.address = unmapped(remote.address());
  peer_.port = remote.port();
  asio::post(stream_.get_executor(), [self = this->shared_from_this(), remote] {
    self->touch();
    self->arm_idle_timer();
    self->socket().async_connect(remote, [self](const boost::system::error_code& ec) {
      if (ec || self->closed_) {
        self->close_now();
        return;
      }
      if constexpr (kIsTls) {
        // No SNI: a Peer carries an address only, and RFC 6066 forbids
        // address literals as server names.
        self->stream_.async_handshake(asio::ssl::stream_base::client,
                                      [self](const boost::system::error_code& handshake_error) {
                                        if (handshake_error || self->closed_) {
                                          self->close_now();
                                          return;
                                        }
                                        self->established();
                                      });
      } else {
        self->established();
      }
    });
  });
}

template <class Stream>
void StreamConnection<Stream>::established() {
  connected_ = true;
  touch();
  read();
  write_next();
}

template <class Stream>
void StreamConnection<Stream>::send(std::string bytes) {
  asio::post(stream_.get_executor(), [self = this->shared_from_this(), bytes = std::move(bytes)]() mutable {
    if (self->closed_) return;
    self->enqueue(std::move(bytes));
  });
}

template <class Stream>
void StreamConnection<Stream>::enqueue(std::string bytes) {
  if (queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
    close_now();
    return;
  }
  queued_bytes_ += bytes.size();
  write_queue_.push_back(std::move(bytes));
  write_next();
}

template <class Stream>
void StreamConnection<Stream>::close() {
  asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
}

template <class Stream>
void StreamConnection<Stream>::read() {
  stream_.async_read_some(asio::buffer(read_buffer_.get(), kReadChunk),
                          [self = this->shared_from_this()](const boost::system::error_code& ec, size_t size) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close_now();
                              return;
                            }
                            self->on_read(size);
                          });
}

template <class Stream>
void StreamConnection<Stream>::on_read(size_t size) {
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

template <class Stream>
void StreamConnection<Stream>::write_next() {
  if (writing_ || !connected_ || closed_ || write_queue_.empty()) return;
  writing_ = true;
  asio::async_write(stream_, asio::buffer(write_queue_.front()),
                    [self = this->shared_from_this()](const boost::system::error_code& ec, size_t) {
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

template <class Stream>
void StreamConnection<Stream>::arm_idle_timer() {
  idle_timer_.expires_at(last_activity_ + idle_timeout_);
  idle_timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    if (std::chrono::steady_clock::now() - self->last_activity_ >= self->idle_timeout_) {
      self->close_now();
    } else {
      self->arm_idle_timer();
    }
  });
}

// TLS flows are closed without a close_notify: the peer sees the TCP close,
// which SIP over TLS treats the same way, and nothing waits on a peer that
// may never answer.
template <class Stream>
void StreamConnection<Stream>::close_now() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  idle_timer_.cancel();
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  write_queue_.clear();
  if (on_closed_) on_closed_(*this);
  context_->closed(peer_);
}

template class StreamConnection<tcp::socket>;
template class StreamConnection<TlsStream>;

}  // namespace cppbx::transport
