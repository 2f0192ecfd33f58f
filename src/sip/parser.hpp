// Turns bytes into a Message. The parser is pure: no I/O, no logging, no
// allocation beyond the header index and the occasional unfolded value.
//
// Datagram transports hand over one whole datagram; stream transports first
// find the message boundary with frame_length() and then hand over exactly one
// message.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sip/message.hpp"

namespace cppbx::sip {

enum class ParseStatus {
  Ok,
  Malformed,           // 400 when the message can be answered, else drop
  VersionUnsupported,  // 505
  SchemeUnsupported,   // 416
  TooLarge,            // 513
};

struct ParseResult {
  ParseStatus status = ParseStatus::Malformed;
  // Human readable reason, suitable for a 400 reason phrase ("Bad CSeq").
  std::string reason;
  // Set when status is Ok, and also for errors found after the start line and
  // the core headers were read, so that an error response can be routed.
  // Check can_respond before using it for a response. On the heap so that a
  // transaction takes it over without moving ~900 bytes of views.
  std::unique_ptr<Message> message;
  // True when `message` is a request whose Via/From/To/Call-ID/CSeq are good
  // enough to build a response from (RFC 3261 8.2.6).
  bool can_respond = false;
};

struct ParserLimits {
  size_t max_message_size = 65535;
  size_t max_headers = 256;
};

ParseResult parse_message(std::string_view bytes, const ParserLimits& limits = {});

// For stream transports: length of the first complete message in `stream`
// (headers, blank line and Content-Length bytes of body), 0 when more bytes are
// needed, nullopt when the stream cannot be framed (no or bad Content-Length,
// headers beyond the limit) and the connection should be closed.
// Leading CRLFs (keep-alives) are not part of a message: see skip_keepalive().
std::optional<size_t> frame_length(std::string_view stream, const ParserLimits& limits = {});

// Number of leading CR/LF bytes; "\r\n\r\n" is the RFC 5626 ping, "\r\n" the pong.
size_t skip_keepalive(std::string_view stream);

}  // namespace cppbx::sip
