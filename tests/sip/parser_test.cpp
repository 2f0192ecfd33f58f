// parse_message(): start lines, header folding, compact forms, multiple header
// lines, bodies by Content-Length, validation outcomes and stream framing.
#include <gtest/gtest.h>

#include <string>

#include "sip/parser.hpp"

namespace cppbx::sip {
namespace {

std::string request(std::string_view extra_headers = "", std::string_view body = "",
                    std::string_view start = "INVITE sip:bob@biloxi.example.com SIP/2.0") {
  std::string m(start);
  m += "\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
       "Max-Forwards: 70\r\n"
       "To: Bob <sip:bob@biloxi.example.com>\r\n"
       "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
       "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
       "CSeq: 314159 INVITE\r\n";
  m += extra_headers;
  m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  m += body;
  return m;
}

TEST(Parser, ParsesARequestAndItsCoreHeaders) {
  std::string text = request("Contact: <sip:alice@pc33.atlanta.example.com>\r\n", "v=0\r\n");
  ParseResult r = parse_message(text);
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  ASSERT_TRUE(r.message);
  const Message& m = *r.message;
  EXPECT_TRUE(r.can_respond);
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), Method::Invite);
  EXPECT_EQ(m.request_uri().user, "bob");
  EXPECT_EQ(m.top_via().branch, "z9hG4bK776asdhds");
  EXPECT_EQ(m.from().tag(), "1928301774");
  EXPECT_EQ(m.to().display_name, "Bob");
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.cseq().number, 314159u);
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_EQ(m.body(), "v=0\r\n");
  EXPECT_EQ(m.raw(), text);
  EXPECT_EQ(m.find("contact")->value, "<sip:alice@pc33.atlanta.example.com>");
  EXPECT_EQ(m.find("X-Absent"), nullptr);
}

TEST(Parser, ParsesAResponse) {
  ParseResult r = parse_message(
      "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>;tag=2\r\n"
      "From: <sip:a@h>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  EXPECT_TRUE(r.message->is_response());
  EXPECT_EQ(r.message->status_code(), 180);
  EXPECT_EQ(r.message->reason_phrase(), "Ringing");
  EXPECT_FALSE(r.can_respond);  // responses are never answered
}

TEST(Parser, UnfoldsFoldedHeadersAndKeepsTheRawLines) {
  std::string text = request("Subject: first\r\n   second\r\n\tthird\r\n");
  ParseResult r = parse_message(text);
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  const Header* subject = r.message->find("Subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->value, "first second third");
  EXPECT_EQ(subject->raw, "Subject: first\r\n   second\r\n\tthird");
}

TEST(Parser, UnfoldedValuesSurviveMovingTheMessage) {
  std::string text = request("Subject: a\r\n b\r\n");
  ParseResult r = parse_message(text);
  ASSERT_TRUE(r.message);
  Message moved = std::move(*r.message);
  text.assign(text.size(), 'x');  // the message owns its bytes
  EXPECT_EQ(moved.find("Subject")->value, "a b");
  EXPECT_EQ(moved.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
}

TEST(Parser, CompactFormsAndCaseInsensitiveNames) {
  ParseResult r = parse_message(
      "OPTIONS sip:x@h SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\nt: <sip:b@h>\r\n"
      "f: <sip:a@h>;tag=1\r\ni: cid\r\ncSeQ: 2 OPTIONS\r\nl: 0\r\nm: <sip:a@h2>\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  EXPECT_EQ(r.message->call_id(), "cid");
  EXPECT_EQ(r.message->find(HeaderId::Contact)->name, "m");
  EXPECT_EQ(r.message->max_forwards(), -1);  // absent Max-Forwards is tolerated
}

TEST(Parser, MultipleHeaderLinesAndListValues) {
  ParseResult r = parse_message(request(
      "Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2, SIP/2.0/UDP third;branch=z9hG4bK3\r\n"
      "Route: <sip:p1@h;lr>\r\nRoute: <sip:p2@h;lr>,<sip:p3@h;lr>\r\n"));
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  auto vias = r.message->values(HeaderId::Via);
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(vias[2], "SIP/2.0/UDP third;branch=z9hG4bK3");
  auto routes = r.message->values(HeaderId::Route);
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[1], "<sip:p2@h;lr>");
  EXPECT_EQ(r.message->top_via().host, "pc33.atlanta.example.com");
}

TEST(Parser, ContactsOfEveryLineInOrder) {
  ParseResult r = parse_message(request(
      "Contact: \"A, B\" <sip:a@h1;transport=tcp>;expires=60, sip:b@h2\r\n"
      "m: <sip:c@[2001:db8::1]:5070>;+sip.instance=\"<urn:uuid:1>\"\r\n"));
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  const std::vector<Contact>& contacts = r.message->contacts();
  ASSERT_EQ(contacts.size(), 3u);
  EXPECT_EQ(contacts[0].address.display_name, "A, B");
  EXPECT_EQ(contacts[0].address.uri.host, "h1");
  EXPECT_EQ(contacts[0].expires(), 60u);
  EXPECT_EQ(contacts[1].address.uri.user, "b");
  EXPECT_EQ(contacts[2].address.uri.port, 5070);
  EXPECT_EQ(contacts[2].address.param("+sip.instance"), "<urn:uuid:1>");
  for (const Contact& contact : contacts) EXPECT_FALSE(contact.star);
}

TEST(Parser, StarContactAndNoContact) {
  ParseResult star = parse_message(request("Contact:  * \r\n"));
  ASSERT_EQ(star.status, ParseStatus::Ok) << star.reason;
  ASSERT_EQ(star.message->contacts().size(), 1u);
  EXPECT_TRUE(star.message->contacts()[0].star);

  ParseResult none = parse_message(request());
  ASSERT_EQ(none.status, ParseStatus::Ok) << none.reason;
  EXPECT_TRUE(none.message->contacts().empty());
}

TEST(Parser, ContactsSurviveMovingTheMessage) {
  std::string text = request("Contact: <sip:alice@pc33.atlanta.example.com>\r\n");
  ParseResult r = parse_message(text);
  ASSERT_TRUE(r.message);
  Message moved = std::move(*r.message);
  text.assign(text.size(), 'x');
  ASSERT_EQ(moved.contacts().size(), 1u);
  EXPECT_EQ(moved.contacts()[0].address.uri.host, "pc33.atlanta.example.com");
}

TEST(Parser, DatagramBodyLengthRules) {
  std::string base = request("", "12345");
  // Smaller Content-Length: extra bytes are dropped.
  ParseResult extra = parse_message(base + "garbage");
  ASSERT_EQ(extra.status, ParseStatus::Ok);
  EXPECT_EQ(extra.message->body(), "12345");
  EXPECT_EQ(extra.message->raw(), base);
  // Larger: 400.
  ParseResult truncated = parse_message(base.substr(0, base.size() - 1));
  EXPECT_EQ(truncated.status, ParseStatus::Malformed);
  EXPECT_EQ(truncated.reason, "Bad Content-Length");
  EXPECT_TRUE(truncated.can_respond);
  // Missing: the rest of the datagram.
  std::string no_length = base;
  no_length.erase(no_length.find("Content-Length: 5\r\n"), 19);
  ParseResult rest = parse_message(no_length);
  ASSERT_EQ(rest.status, ParseStatus::Ok) << rest.reason;
  EXPECT_EQ(rest.message->body(), "12345");
}

struct BadCase {
  const char* name;
  std::string text;
  const char* reason;
  ParseStatus status;
  bool can_respond;
};

class ParserRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParserRejects, WithTheRightStatusAndReason) {
  const BadCase& c = GetParam();
  ParseResult r = parse_message(c.text);
  EXPECT_EQ(r.status, c.status);
  EXPECT_EQ(r.reason, c.reason);
  EXPECT_EQ(r.can_respond, c.can_respond);
}

std::string replace(std::string text, std::string_view from, std::string_view to) {
  size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

const std::string kGood = request();

INSTANTIATE_TEST_SUITE_P(
    Cases, ParserRejects,
    ::testing::Values(
        BadCase{"BadCSeq", replace(kGood, "CSeq: 314159 INVITE", "CSeq: x INVITE"), "Bad CSeq",
                ParseStatus::Malformed, true},
        BadCase{"CSeqMismatch", replace(kGood, "CSeq: 314159 INVITE", "CSeq: 1 BYE"),
                "CSeq method mismatch", ParseStatus::Malformed, true},
        BadCase{"MissingCallId", replace(kGood, "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n", ""),
                "Missing Call-ID", ParseStatus::Malformed, false},
        BadCase{"MissingVia", replace(kGood, "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n", ""),
                "Missing Via", ParseStatus::Malformed, false},
        BadCase{"BadVia", replace(kGood, "SIP/2.0/UDP pc33", "SIP/2.0 pc33"), "Bad Via",
                ParseStatus::Malformed, false},
        BadCase{"BadFrom", replace(kGood, "From: Alice <", "From: Alice, <"), "Bad From",
                ParseStatus::Malformed, false},
        BadCase{"BadTo", replace(kGood, "To: Bob <sip:", "To: Bob <sip"), "Bad To",
                ParseStatus::Malformed, false},
        BadCase{"BadMaxForwards", replace(kGood, "Max-Forwards: 70", "Max-Forwards: 256"),
                "Bad Max-Forwards", ParseStatus::Malformed, true},
        BadCase{"BadContentLength", replace(kGood, "Content-Length: 0", "Content-Length: -1"),
                "Bad Content-Length", ParseStatus::Malformed, true},
        BadCase{"BadRequestUri", replace(kGood, "sip:bob@biloxi.example.com SIP", "sip:bob@ SIP"),
                "Bad Request-URI", ParseStatus::Malformed, true},
        BadCase{"HttpUri", replace(kGood, "sip:bob@biloxi.example.com SIP", "http://x/ SIP"),
                "Unsupported URI Scheme", ParseStatus::SchemeUnsupported, true},
        BadCase{"MaxForwardsNotAByte", replace(kGood, "Max-Forwards: 70", "Max-Forwards: 999"),
                "Bad Max-Forwards", ParseStatus::Malformed, true},
        BadCase{"Version", replace(kGood, "com SIP/2.0", "com SIP/3.0"), "Version Not Supported",
                ParseStatus::VersionUnsupported, true},
        BadCase{"HeaderWithoutColon", replace(kGood, "Max-Forwards: 70", "Max-Forwards 70"),
                "Bad header line", ParseStatus::Malformed, true},
        BadCase{"StarAmongContacts", request("Contact: *, <sip:a@h>\r\n"), "Bad Contact",
                ParseStatus::Malformed, true},
        BadCase{"EmptyContact", request("Contact: \r\n"), "Bad Contact", ParseStatus::Malformed, true},
        BadCase{"BadSecondContactLine", request("Contact: <sip:a@h>\r\nContact: <sip:b@h\r\n"),
                "Bad Contact", ParseStatus::Malformed, true},
        BadCase{"Garbage", "\x01\x02 hello", "Bad Request-Line", ParseStatus::Malformed, false},
        BadCase{"Empty", "\r\n\r\n", "Empty message", ParseStatus::Malformed, false},
        BadCase{"BigCode", replace(kGood, "INVITE sip:bob@biloxi.example.com SIP/2.0", "SIP/2.0 700 Weird"),
                "Bad Status-Line", ParseStatus::Malformed, false}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(Parser, TelRequestUriIsSupported) {
  ParseResult r = parse_message(request("", "", "INVITE tel:+12015550123 SIP/2.0"));
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  EXPECT_EQ(r.message->request_uri().scheme, UriScheme::Tel);
}

TEST(Parser, UnknownMethodKeepsItsText) {
  std::string text = replace(request("", "", "FOO sip:x@h SIP/2.0"), "314159 INVITE", "1 FOO");
  ParseResult r = parse_message(text);
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  EXPECT_EQ(r.message->method(), Method::Unknown);
  EXPECT_EQ(r.message->method_text(), "FOO");
}

TEST(Parser, LimitsGive513) {
  ParserLimits limits;
  limits.max_message_size = 100;
  ParseResult big = parse_message(request(), limits);
  EXPECT_EQ(big.status, ParseStatus::TooLarge);
  EXPECT_TRUE(big.can_respond);

  ParserLimits few_headers;
  few_headers.max_headers = 3;
  ParseResult many = parse_message(request(), few_headers);
  EXPECT_EQ(many.status, ParseStatus::TooLarge);
  EXPECT_FALSE(many.message);
}

TEST(Parser, LeadingKeepalivesAreSkipped) {
  ParseResult r = parse_message("\r\n\r\n" + request());
  ASSERT_EQ(r.status, ParseStatus::Ok) << r.reason;
  EXPECT_EQ(r.message->raw().substr(0, 6), "INVITE");
}

TEST(Parser, MethodNames) {
  EXPECT_EQ(method_from_name("REGISTER"), Method::Register);
  EXPECT_EQ(method_from_name("register"), Method::Unknown);  // methods are case-sensitive
  EXPECT_EQ(method_name(Method::Publish), "PUBLISH");
  EXPECT_EQ(method_name(Method::Unknown), "");
}

TEST(Framing, NeedsMoreBytesUntilTheBodyIsComplete) {
  std::string one = request("", "abc");
  EXPECT_EQ(frame_length(one.substr(0, 20)), 0u);
  EXPECT_EQ(frame_length(one.substr(0, one.size() - 1)), 0u);
  EXPECT_EQ(frame_length(one), one.size());
  EXPECT_EQ(frame_length(one + one), one.size());
  EXPECT_EQ(frame_length("\r\n\r\n" + one), one.size() + 4);
}

TEST(Framing, RejectsUnframeableStreams) {
  std::string no_length = replace(request(), "Content-Length: 0\r\n", "");
  EXPECT_FALSE(frame_length(no_length));
  EXPECT_FALSE(frame_length(replace(request(), "Content-Length: 0", "Content-Length: x")));
  EXPECT_FALSE(frame_length(request() + "", ParserLimits{100, 256}));
  EXPECT_FALSE(frame_length(std::string(70000, 'a')));
  EXPECT_EQ(frame_length(std::string(1000, 'a')), 0u);
  std::string two_lengths = replace(request(), "Max-Forwards: 70", "l: 5");
  EXPECT_FALSE(frame_length(two_lengths));
  std::string compact = replace(request(), "Content-Length: 0", "l: 0");
  EXPECT_EQ(frame_length(compact), compact.size());
}

TEST(Framing, SkipKeepalive) {
  EXPECT_EQ(skip_keepalive("\r\n\r\nINVITE"), 4u);
  EXPECT_EQ(skip_keepalive("\r\n"), 2u);
  EXPECT_EQ(skip_keepalive("INVITE"), 0u);
  EXPECT_EQ(skip_keepalive(""), 0u);
}

}  // namespace
}  // namespace cppbx::sip
