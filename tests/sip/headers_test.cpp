// Structured headers: names and compact forms, Via, CSeq, Contact lists,
// digest credentials, list splitting and numbers.
#include <gtest/gtest.h>

#include "sip/headers.hpp"

namespace cppbx::sip {
namespace {

TEST(HeaderNames, LongAndCompactFormsAreCaseInsensitive) {
  EXPECT_EQ(header_id("Via"), HeaderId::Via);
  EXPECT_EQ(header_id("vIA"), HeaderId::Via);
  EXPECT_EQ(header_id("v"), HeaderId::Via);
  EXPECT_EQ(header_id("I"), HeaderId::CallId);
  EXPECT_EQ(header_id("call-id"), HeaderId::CallId);
  EXPECT_EQ(header_id("l"), HeaderId::ContentLength);
  EXPECT_EQ(header_id("m"), HeaderId::Contact);
  EXPECT_EQ(header_id("f"), HeaderId::From);
  EXPECT_EQ(header_id("t"), HeaderId::To);
  EXPECT_EQ(header_id("k"), HeaderId::Supported);
  EXPECT_EQ(header_id("www-authenticate"), HeaderId::WwwAuthenticate);
  EXPECT_EQ(header_id("Min-SE"), HeaderId::MinSE);
  EXPECT_EQ(header_id("X-Custom"), HeaderId::Other);
  EXPECT_EQ(header_id(""), HeaderId::Other);
  EXPECT_EQ(header_id("s"), HeaderId::Other);  // Subject has no id
}

TEST(HeaderNames, CanonicalNamesRoundTrip) {
  for (int i = 1; i < static_cast<int>(HeaderId::Count_); ++i) {
    auto id = static_cast<HeaderId>(i);
    EXPECT_EQ(header_id(header_name(id)), id) << header_name(id);
  }
  EXPECT_EQ(header_name(HeaderId::CallId), "Call-ID");
  EXPECT_TRUE(is_list_header(HeaderId::Via));
  EXPECT_TRUE(is_list_header(HeaderId::Contact));
  EXPECT_FALSE(is_list_header(HeaderId::Authorization));
  EXPECT_FALSE(is_list_header(HeaderId::CallId));
}

TEST(SplitList, RespectsQuotesAndAngleBrackets) {
  auto items = split_list(R"("Doe, John" <sip:a@b;x=1,2>, <sip:c@d> , sip:e@f)");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0], R"("Doe, John" <sip:a@b;x=1,2>)");
  EXPECT_EQ(items[1], "<sip:c@d>");
  EXPECT_EQ(items[2], "sip:e@f");
  EXPECT_TRUE(split_list("  ").empty());
  EXPECT_EQ(split_list("a,,b").size(), 3u);  // empty items are kept for validation
}

TEST(Via, ParsesAllParameters) {
  auto via = parse_via(
      "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK776;received=198.51.100.7;rport=40000;"
      "maddr=239.1.1.1;ttl=16;x-custom");
  ASSERT_TRUE(via);
  EXPECT_EQ(via->protocol, "SIP/2.0");
  EXPECT_EQ(via->transport, "UDP");
  EXPECT_EQ(via->host, "192.0.2.1");
  EXPECT_EQ(via->port, 5062);
  EXPECT_EQ(via->branch, "z9hG4bK776");
  EXPECT_TRUE(via->rfc3261_branch());
  EXPECT_EQ(via->received, "198.51.100.7");
  EXPECT_TRUE(via->has_rport);
  EXPECT_EQ(via->rport, 40000);
  EXPECT_EQ(via->maddr, "239.1.1.1");
  EXPECT_EQ(via->ttl, 16);
  EXPECT_EQ(find_param(via->params, "x-custom"), "");
}

TEST(Via, EmptyRportAndLooseWhitespace) {
  auto via = parse_via("SIP  /   2.0 /UDP    192.0.2.2 ; branch = 390skdjuw ; rport");
  ASSERT_TRUE(via);
  EXPECT_EQ(via->protocol, "SIP/2.0");
  EXPECT_EQ(via->host, "192.0.2.2");
  EXPECT_EQ(via->branch, "390skdjuw");
  EXPECT_FALSE(via->rfc3261_branch());
  EXPECT_TRUE(via->has_rport);
  EXPECT_FALSE(via->rport);
}

TEST(Via, Ipv6SentByAndReceived) {
  auto via = parse_via("SIP/2.0/TCP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKx");
  ASSERT_TRUE(via);
  EXPECT_EQ(via->host, "[2001:db8::9:1]");
  EXPECT_EQ(via->port, 6050);
  EXPECT_EQ(via->received, "2001:db8::9:255");
  auto bracketed = parse_via("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255]");
  ASSERT_TRUE(bracketed);
  EXPECT_EQ(bracketed->received, "[2001:db8::9:255]");
}

TEST(Via, RejectsMalformedValues) {
  EXPECT_FALSE(parse_via(""));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP"));
  EXPECT_FALSE(parse_via("SIP/2.0 192.0.2.1"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.15;;"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP host;branch="));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP host;ttl=256"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP host;rport=70000"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP host:0"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP [2001:db8::1"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP host junk"));
}

TEST(CSeq, NumberAndMethod) {
  auto cseq = parse_cseq("0009\t  INVITE");
  ASSERT_TRUE(cseq);
  EXPECT_EQ(cseq->number, 9u);
  EXPECT_EQ(cseq->method, "INVITE");
  EXPECT_EQ(parse_cseq("2147483647 ACK")->number, 2147483647u);
  EXPECT_FALSE(parse_cseq("2147483648 ACK"));  // must be < 2**31
  EXPECT_FALSE(parse_cseq("36893488147419103232 REGISTER"));
  EXPECT_FALSE(parse_cseq("INVITE"));
  EXPECT_FALSE(parse_cseq("1INVITE"));
  EXPECT_FALSE(parse_cseq("-1 INVITE"));
  EXPECT_FALSE(parse_cseq("1 INV ITE"));
}

TEST(Contacts, StarIsASingleSpecialEntry) {
  auto star = parse_contacts(" * ");
  ASSERT_TRUE(star);
  ASSERT_EQ(star->size(), 1u);
  EXPECT_TRUE((*star)[0].star);
  EXPECT_FALSE(parse_contacts("*, <sip:a@b>"));
}

TEST(Contacts, ListWithExpiresQAndInstance) {
  auto contacts = parse_contacts(
      R"("Mr. Watson" <sip:watson@worcester.example.com>;q=0.7;expires=3600, )"
      R"(<sip:watson@bell.example.com;transport=tcp>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";reg-id=1,)"
      R"( sip:w@192.0.2.4;expires=280297596632815)");
  ASSERT_TRUE(contacts);
  ASSERT_EQ(contacts->size(), 3u);
  EXPECT_EQ((*contacts)[0].address.display_name, "Mr. Watson");
  EXPECT_EQ((*contacts)[0].expires(), 3600u);
  EXPECT_EQ((*contacts)[0].address.param("q"), "0.7");
  EXPECT_FALSE((*contacts)[1].expires());
  EXPECT_EQ((*contacts)[1].address.param("+sip.instance"),
            "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>");
  EXPECT_EQ((*contacts)[1].address.uri.param("transport"), "tcp");
  EXPECT_EQ((*contacts)[2].expires(), UINT32_MAX);  // overlarge delta-seconds clamp
}

TEST(Contacts, AnyMalformedEntryRejectsTheList) {
  EXPECT_FALSE(parse_contacts("<sip:a@b>, "));
  EXPECT_FALSE(parse_contacts("<sip:a@b>;;;;"));
  EXPECT_FALSE(parse_contacts(""));
  EXPECT_FALSE(parse_contacts("sip:user@example.com?Route=%3Csip:sip.example.com%3E"));
}

TEST(AuthParams, DigestCredentialsWithQuotedCommas) {
  auto auth = parse_auth_params(
      R"(Digest username="bob", realm="biloxi.com", nonce="dcd98b,7102dd2f0e8b11d0f600bfb0c093", )"
      R"(uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", )"
      R"(response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41")");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->scheme, "Digest");
  EXPECT_EQ(auth->params.size(), 9u);
  EXPECT_EQ(auth->get("USERNAME"), "bob");
  EXPECT_EQ(auth->get("nonce"), "dcd98b,7102dd2f0e8b11d0f600bfb0c093");
  EXPECT_EQ(auth->get("qop"), "auth");
  EXPECT_EQ(auth->get("nc"), "00000001");
  EXPECT_FALSE(auth->get("algorithm"));
}

TEST(AuthParams, ChallengeWithQopListAndEscapedQuote) {
  auto auth = parse_auth_params(R"(Digest realm="a \"b\" c",qop="auth,auth-int",algorithm=MD5)");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->get("realm"), R"(a \"b\" c)");
  EXPECT_EQ(auth->get("qop"), "auth,auth-int");
  EXPECT_EQ(auth->get("algorithm"), "MD5");
}

TEST(AuthParams, RejectsBrokenSyntax) {
  EXPECT_FALSE(parse_auth_params(""));
  EXPECT_FALSE(parse_auth_params(R"(Digest realm="unterminated)"));
  EXPECT_FALSE(parse_auth_params("Digest realm"));
  EXPECT_FALSE(parse_auth_params("Digest =x"));
  EXPECT_FALSE(parse_auth_params(R"(Digest realm="a" junk)"));
  EXPECT_FALSE(parse_auth_params("Digest,realm=x"));
  auto unknown = parse_auth_params("NoOneKnowsThisScheme opaque-data=here");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->get("opaque-data"), "here");
}

TEST(Numbers, ParseUint32) {
  EXPECT_EQ(parse_uint32("0"), 0u);
  EXPECT_EQ(parse_uint32("0068"), 68u);
  EXPECT_EQ(parse_uint32("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_uint32("4294967296"));
  EXPECT_FALSE(parse_uint32(""));
  EXPECT_FALSE(parse_uint32("+1"));
  EXPECT_FALSE(parse_uint32("-1"));
  EXPECT_FALSE(parse_uint32(" 1"));
  EXPECT_FALSE(parse_uint32("1a"));
}

}  // namespace
}  // namespace cppbx::sip
