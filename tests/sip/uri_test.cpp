// URI and name-addr parsing: sip/sips/tel, params, headers, IPv6, escapes.
#include <gtest/gtest.h>

#include "sip/uri.hpp"

namespace cppbx::sip {
namespace {

TEST(Uri, SipUriWithUserPasswordPortParamsAndHeaders) {
  auto uri = parse_uri("sip:alice:secret@example.com:5070;transport=tcp;lr?subject=hi&priority=urgent");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->scheme, UriScheme::Sip);
  EXPECT_EQ(uri->user, "alice");
  EXPECT_EQ(uri->password, "secret");
  EXPECT_EQ(uri->host, "example.com");
  EXPECT_EQ(uri->port, 5070);
  EXPECT_EQ(uri->params, "transport=tcp;lr");
  EXPECT_EQ(uri->headers, "subject=hi&priority=urgent");
  EXPECT_EQ(uri->param("TRANSPORT"), "tcp");
  EXPECT_EQ(uri->param("lr"), "");
  EXPECT_FALSE(uri->param("maddr"));
}

TEST(Uri, SchemeIsCaseInsensitiveAndSipsIsRecognised) {
  auto uri = parse_uri("SIPS:bob@Example.COM");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->scheme, UriScheme::Sips);
  EXPECT_EQ(uri->scheme_text, "SIPS");
  EXPECT_EQ(uri->host, "Example.COM");
  EXPECT_EQ(uri->port, 0);
}

TEST(Uri, HostOnlyUri) {
  auto uri = parse_uri("sip:registrar.example.com");
  ASSERT_TRUE(uri);
  EXPECT_TRUE(uri->user.empty());
  EXPECT_EQ(uri->host, "registrar.example.com");
}

TEST(Uri, Ipv6ReferenceKeepsBracketsAndPort) {
  auto uri = parse_uri("sip:user@[2001:db8::10]:5070");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->host, "[2001:db8::10]");
  EXPECT_TRUE(uri->host_is_ipv6());
  EXPECT_EQ(uri->port, 5070);

  auto mapped = parse_uri("sip:[::ffff:192.0.2.2]");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->host, "[::ffff:192.0.2.2]");
}

TEST(Uri, RejectsMalformedIpv6) {
  EXPECT_FALSE(parse_uri("sip:user@[2001:db8::10"));       // unterminated
  EXPECT_FALSE(parse_uri("sip:2001:db8::10"));              // unbracketed
  EXPECT_FALSE(parse_uri("sip:[2001:db8::1::2]"));          // two "::"
  EXPECT_FALSE(parse_uri("sip:[12345::1]"));                // group too long
  EXPECT_FALSE(parse_uri("sip:[1:2:3:4:5:6:7]"));           // too few groups
  EXPECT_FALSE(parse_uri("sip:[::1.2.3.256]"));             // bad IPv4 tail
}

TEST(Uri, EscapedUserIsKeptAsWritten) {
  auto uri = parse_uri("sip:I%20have%20spaces@example.net");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->user, "I%20have%20spaces");
  EXPECT_FALSE(parse_uri("sip:bad%2@example.net"));  // truncated escape
  EXPECT_FALSE(parse_uri("sip:bad%zz@example.net"));
}

TEST(Uri, UserPartMayContainSemicolons) {
  auto uri = parse_uri("sip:user;par=u%40example.net@example.com");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->user, "user;par=u%40example.net");
  EXPECT_EQ(uri->host, "example.com");
  EXPECT_TRUE(uri->params.empty());
}

TEST(Uri, RejectsStructuralErrors) {
  EXPECT_FALSE(parse_uri(""));
  EXPECT_FALSE(parse_uri("sip:"));
  EXPECT_FALSE(parse_uri("sip:@example.com"));
  EXPECT_FALSE(parse_uri("sip:user@example.com:99999"));
  EXPECT_FALSE(parse_uri("sip:user@example.com:"));
  EXPECT_FALSE(parse_uri("sip:user@exa mple.com"));
  EXPECT_FALSE(parse_uri("sip:user@example.com;;lr"));
  EXPECT_FALSE(parse_uri("sip:user@example.com;lr="));
  EXPECT_FALSE(parse_uri("sip:user@example.com?novalue"));
  EXPECT_FALSE(parse_uri("<sip:user@example.com>"));
  EXPECT_FALSE(parse_uri("user@example.com"));
}

TEST(Uri, TelUriWithParameters) {
  auto uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->scheme, UriScheme::Tel);
  EXPECT_EQ(uri->user, "+1-201-555-0123");
  EXPECT_EQ(uri->param("phone-context"), "example.com");
  EXPECT_FALSE(parse_uri("tel:"));
  EXPECT_FALSE(parse_uri("tel:+"));
  EXPECT_FALSE(parse_uri("tel:12 34"));
}

TEST(Uri, OtherSchemesAreReportedAsUnknownNotInvalid) {
  auto uri = parse_uri("http://www.example.com/x");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->scheme, UriScheme::Unknown);
  EXPECT_FALSE(uri->valid());
  EXPECT_EQ(uri->scheme_text, "http");
  EXPECT_FALSE(parse_uri("1http:x"));  // schemes start with a letter
  EXPECT_FALSE(parse_uri("urn:"));
}

TEST(Uri, HostWithoutPort) {
  EXPECT_EQ(host_without_port("example.com:5060"), "example.com");
  EXPECT_EQ(host_without_port("example.com"), "example.com");
  EXPECT_EQ(host_without_port("[2001:db8::1]:5061"), "[2001:db8::1]");
  EXPECT_EQ(host_without_port("2001:db8::1"), "2001:db8::1") << "bare IPv6: no port to strip";
  EXPECT_EQ(host_without_port(""), "");
}

TEST(NameAddr, QuotedDisplayNameWithEscapes) {
  auto na = parse_name_addr(R"("J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8)");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->display_name, R"(J Rosenberg \\\")");
  EXPECT_EQ(na->uri.user, "jdrosen");
  EXPECT_EQ(na->tag(), "98asjd8");
}

// tag() is noted while the params are validated; it must answer as a lookup
// in the params would.
TEST(NameAddr, TagIsTheFirstHeaderParamNamedTagInAnyCase) {
  auto tag_of = [](std::string_view text) {
    auto parsed = parse_name_addr(text);
    return parsed ? std::string(parsed->tag()) : std::string("<unparsable>");
  };
  EXPECT_EQ(tag_of("<sip:bob@example.com>;x=1;TAG=ab;tag=cd"), "ab");
  EXPECT_EQ(tag_of("<sip:bob@example.com;tag=uri>"), "") << "a URI param is not the header's tag";
  EXPECT_EQ(tag_of("sip:bob@example.com;tag=77"), "77");
  EXPECT_EQ(tag_of("<sip:bob@example.com>"), "");
  NameAddr built;  // not parsed: looked up in params
  built.params = "tag=zz";
  EXPECT_EQ(built.tag(), "zz");
}

TEST(NameAddr, TokenDisplayNameAndNoSpaceBeforeAngle) {
  auto na = parse_name_addr("caller<sip:caller@example.com>;tag=323");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->display_name, "caller");
  EXPECT_EQ(na->tag(), "323");
  auto two_words = parse_name_addr("Alice Liddell <sip:alice@example.com>");
  ASSERT_TRUE(two_words);
  EXPECT_EQ(two_words->display_name, "Alice Liddell");
}

TEST(NameAddr, AddrSpecParamsBelongToTheHeader) {
  auto na = parse_name_addr("sip:+19725552222@gw1.example.net;unknownparam;tag=1");
  ASSERT_TRUE(na);
  EXPECT_TRUE(na->uri.params.empty());
  EXPECT_EQ(na->params, "unknownparam;tag=1");
  EXPECT_EQ(na->tag(), "1");
  auto bracketed = parse_name_addr("<sip:u@gw1.example.net;unknownparam>");
  ASSERT_TRUE(bracketed);
  EXPECT_EQ(bracketed->uri.params, "unknownparam");
  EXPECT_TRUE(bracketed->params.empty());
}

TEST(NameAddr, QuotedParameterValuesAreUnquoted) {
  auto na = parse_name_addr(
      R"(<sip:a@b>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1)");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->param("+sip.instance"), "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
  EXPECT_EQ(na->param("reg-id"), "1");
}

TEST(NameAddr, RejectsInvalidForms) {
  EXPECT_FALSE(parse_name_addr(""));
  EXPECT_FALSE(parse_name_addr(R"("Mr. J. User <sip:j.user@example.com>)"));  // unterminated quote
  EXPECT_FALSE(parse_name_addr("Bell, Alexander <sip:a.g.bell@example.com>"));  // ',' in token name
  EXPECT_FALSE(parse_name_addr("< sip:t.watson@example.org >"));               // spaces in <>
  EXPECT_FALSE(parse_name_addr("sip:user@example.com?Route=%3Csip:x%3E"));     // '?' needs <>
  EXPECT_FALSE(parse_name_addr("<sip:a@b>;;"));                                // empty param
  EXPECT_FALSE(parse_name_addr("<sip:a@b> trailing"));
  EXPECT_FALSE(parse_name_addr("<sip:a@b"));
  EXPECT_FALSE(parse_name_addr("alan@jasomi.com"));                            // no scheme
}

TEST(NameAddr, AbsoluteUriOfUnknownSchemeIsAccepted) {
  auto na = parse_name_addr("<http://www.example.com>;tag=3234233");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->uri.scheme, UriScheme::Unknown);
  EXPECT_EQ(na->tag(), "3234233");
}

TEST(FindParam, CaseInsensitiveWithSpacesAndQuotes) {
  EXPECT_EQ(find_param("a=1; Tag = x ;q=\"0;5\"", "tag"), "x");
  EXPECT_EQ(find_param("a=1; Tag = x ;q=\"0;5\"", "Q"), "0;5");
  EXPECT_FALSE(find_param("a=1", "b"));
  EXPECT_FALSE(find_param("", "b"));
}

}  // namespace
}  // namespace cppbx::sip
