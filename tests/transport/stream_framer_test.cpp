// StreamFramer without sockets: whole, coalesced and split messages, pings,
// pongs and unframeable input.
#include <gtest/gtest.h>

#include "transport/stream_framer.hpp"

namespace cppbx::transport {
namespace {

std::string message(std::string_view call_id, std::string_view body = {}) {
  return "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n"
         "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: " + std::string(call_id) +
         "\r\nCSeq: 1 OPTIONS\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

TEST(StreamFramer, TwoMessagesInOneChunk) {
  StreamFramer framer({});
  std::string first = message("one", "hello");
  std::string second = message("two");
  framer.append(first + second);
  auto item = framer.next();
  ASSERT_EQ(item.kind, StreamFramer::Kind::Message);
  EXPECT_EQ(item.bytes, first);
  item = framer.next();
  ASSERT_EQ(item.kind, StreamFramer::Kind::Message);
  EXPECT_EQ(item.bytes, second);
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::NeedMore);
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(StreamFramer, MessageSplitAcrossChunksIncludingBody) {
  StreamFramer framer({});
  std::string whole = message("split", "0123456789");
  for (size_t cut : {size_t{5}, whole.size() - 4}) {
    StreamFramer f({});
    f.append(whole.substr(0, cut));
    EXPECT_EQ(f.next().kind, StreamFramer::Kind::NeedMore);
    f.append(whole.substr(cut));
    auto item = f.next();
    ASSERT_EQ(item.kind, StreamFramer::Kind::Message);
    EXPECT_EQ(item.bytes, whole);
  }
}

TEST(StreamFramer, PingBetweenMessagesAndPongIgnored) {
  StreamFramer framer({});
  std::string m = message("x");
  framer.append("\r\n\r\n" + m + "\r\n" + m);
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::Ping);
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::Message);
  auto item = framer.next();  // the lone CRLF (a pong) is skipped
  ASSERT_EQ(item.kind, StreamFramer::Kind::Message);
  EXPECT_EQ(item.bytes, m);
}

TEST(StreamFramer, PingSplitAcrossChunks) {
  StreamFramer framer({});
  framer.append("\r\n");
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::NeedMore);
  framer.append("\r\n");
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::Ping);
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::NeedMore);
}

TEST(StreamFramer, MissingContentLengthIsAnError) {
  StreamFramer framer({});
  framer.append("OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n");
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::Error);
}

TEST(StreamFramer, EndlessHeadersAreAnError) {
  sip::ParserLimits limits;
  limits.max_message_size = 1024;
  StreamFramer framer(limits);
  std::string junk(2000, 'a');
  framer.append(junk);
  EXPECT_EQ(framer.next().kind, StreamFramer::Kind::Error);
}

}  // namespace
}  // namespace cppbx::transport
