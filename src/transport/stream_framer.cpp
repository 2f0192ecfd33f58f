// See stream_framer.hpp. Framing itself (Content-Length, header limits) is
// the parser's job (sip::frame_length); this file only handles the buffer and
// the CRLF keep-alives between messages.
#include "transport/stream_framer.hpp"

namespace cppbx::transport {

namespace {
constexpr std::string_view kPing = "\r\n\r\n";
}

void StreamFramer::append(std::string_view data) {
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(data);
}

StreamFramer::Item StreamFramer::next() {
  for (;;) {
    std::string_view pending(buffer_.data() + consumed_, buffer_.size() - consumed_);
    if (pending.empty()) return {};

    size_t line_breaks = sip::skip_keepalive(pending);
    if (pending.starts_with(kPing)) {
      consumed_ += kPing.size();
      return {Kind::Ping, pending.substr(0, kPing.size())};
    }
    if (line_breaks > 0) {
      // Fewer than four CR/LF at the very end may still grow into a ping.
      if (line_breaks == pending.size() && line_breaks < kPing.size()) return {};
      // A pong or stray line break before a message: not part of it.
      consumed_ += line_breaks >= kPing.size() ? 1 : line_breaks;
      continue;
    }

    std::optional<size_t> length = sip::frame_length(pending, limits_);
    if (!length) return {Kind::Error, {}};
    if (*length == 0) {
      // A peer that never finishes its headers must not grow the buffer forever.
      if (pending.size() > limits_.max_message_size) return {Kind::Error, {}};
      return {};
    }
    if (*length > pending.size()) return {};  // defensive: parser promised a complete message
    consumed_ += *length;
    return {Kind::Message, pending.substr(0, *length)};
  }
}

}  // namespace cppbx::transport
