// Cuts a byte stream (TCP today, TLS later) into SIP messages and RFC 5626
// keep-alive pings. Kept apart from the sockets so it can be tested without
// any I/O and reused by every stream transport.
//
// The framer owns one growing buffer per connection. Consumed bytes are only
// compacted away on the next append(), so views returned by next() stay valid
// until then.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sip/parser.hpp"

namespace cppbx::transport {

class StreamFramer {
 public:
  enum class Kind {
    NeedMore,  // nothing complete buffered
    Message,   // `bytes` is exactly one SIP message
    Ping,      // a double CRLF: answer with a single CRLF
    Error,     // the stream cannot be framed: close the connection
  };
  struct Item {
    Kind kind = Kind::NeedMore;
    std::string_view bytes;
  };

  explicit StreamFramer(const sip::ParserLimits& limits) : limits_(limits) {}

  void append(std::string_view data);
  Item next();
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  sip::ParserLimits limits_;
  std::string buffer_;
  size_t consumed_ = 0;
};

}  // namespace cppbx::transport
