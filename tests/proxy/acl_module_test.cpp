// AclModule: address rules (first match wins) and User-Agent lists; refused
// requests are dropped without an answer.
#include "proxy/acl_module.hpp"

#include <gtest/gtest.h>

#include "fake_server_transaction.hpp"

namespace cppbx::proxy {
namespace {

using boost::asio::ip::make_address;

std::vector<AclRule> rules(std::initializer_list<const char*> texts) {
  std::vector<AclRule> out;
  for (const char* text : texts) {
    std::string error;
    auto rule = parse_acl_rule(text, error);
    EXPECT_TRUE(rule) << text << ": " << error;
    if (rule) out.push_back(*rule);
  }
  return out;
}

TEST(AclRule, ParsesAllHostsAndNetworks) {
  std::string error;
  auto all = parse_acl_rule("deny all", error);
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->allow);
  EXPECT_TRUE(all->matches(make_address("203.0.113.9")));
  EXPECT_TRUE(all->matches(make_address("2001:db8::1")));

  auto net = parse_acl_rule("allow 10.0.0.0/8", error);
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->matches(make_address("10.200.3.4")));
  EXPECT_FALSE(net->matches(make_address("11.0.0.1")));
  EXPECT_TRUE(net->matches(make_address("::ffff:10.1.2.3"))) << "IPv4-mapped sources match v4 rules";

  auto host = parse_acl_rule("allow 192.0.2.7", error);
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->matches(make_address("192.0.2.7")));
  EXPECT_FALSE(host->matches(make_address("192.0.2.8")));

  auto v6 = parse_acl_rule("deny 2001:db8::/32", error);
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->matches(make_address("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->matches(make_address("2001:db9::1")));
}

TEST(AclRule, RejectsWhatItCannotRead) {
  for (const char* bad : {"permit all", "allow", "allow 10.0.0.0/33", "deny not-an-ip",
                          "allow 10.0.0.0/x", "deny ::1/129"}) {
    std::string error;
    EXPECT_FALSE(parse_acl_rule(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(AclModule, FirstMatchingRuleWinsAndNoRulesAllow) {
  AclModule open({}, {}, {});
  EXPECT_TRUE(open.address_allowed(make_address("198.51.100.1")));

  AclModule office(rules({"allow 10.0.0.0/8", "deny all"}), {}, {});
  EXPECT_TRUE(office.address_allowed(make_address("10.1.1.1")));
  EXPECT_FALSE(office.address_allowed(make_address("198.51.100.1")));

  AclModule rustpbx_example(rules({"allow all", "deny all"}), {}, {});
  EXPECT_TRUE(rustpbx_example.address_allowed(make_address("198.51.100.1")));
}

TEST(AclModule, UserAgentListsMatchCaseInsensitiveSubstrings) {
  AclModule black({}, {"friendly-scanner", "sipvicious"}, {});
  EXPECT_FALSE(black.user_agent_allowed("friendly-scanner 1.2"));
  EXPECT_FALSE(black.user_agent_allowed("SIPVicious"));
  EXPECT_TRUE(black.user_agent_allowed("Zoiper rv2.10"));
  EXPECT_TRUE(black.user_agent_allowed(""));

  AclModule white({}, {}, {"Yealink", "baresip"});
  EXPECT_TRUE(white.user_agent_allowed("Yealink SIP-T46S"));
  EXPECT_FALSE(white.user_agent_allowed("Zoiper rv2.10"));
  EXPECT_FALSE(white.user_agent_allowed(""));
}

std::string register_from(std::string_view user_agent) {
  std::string text = "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-acl\r\n"
                     "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\n"
                     "Call-ID: acl@192.0.2.10\r\nCSeq: 1 REGISTER\r\n";
  if (!user_agent.empty()) text += "User-Agent: " + std::string(user_agent) + "\r\n";
  return text + "Content-Length: 0\r\n\r\n";
}

TEST(AclModule, RefusedRequestsAreDroppedSilentlyAndOthersContinue) {
  AclModule acl(rules({"deny 203.0.113.0/24"}), {"friendly-scanner"}, {});
  transport::Peer scanner_host{transport::Protocol::Udp, make_address("203.0.113.5"), 5060, 0};
  transport::Peer phone_host{transport::Protocol::Udp, make_address("192.0.2.10"), 5060, 0};

  bool continued = false;
  auto next = [&](RequestContextPtr) { continued = true; };
  auto run = [&](const std::string& text, const transport::Peer& peer) {
    auto tx = testing::make_fake_transaction(text, peer);
    auto context = std::make_shared<RequestContext>();
    context->transaction = tx;
    continued = false;
    acl.handle(context, next);
    return tx;
  };

  auto by_address = run(register_from("Zoiper"), scanner_host);
  EXPECT_TRUE(by_address->dropped());
  EXPECT_TRUE(by_address->responses().empty());
  EXPECT_FALSE(continued);

  auto by_agent = run(register_from("friendly-scanner"), phone_host);
  EXPECT_TRUE(by_agent->dropped());
  EXPECT_FALSE(continued);

  auto phone = run(register_from("Zoiper"), phone_host);
  EXPECT_FALSE(phone->dropped());
  EXPECT_TRUE(continued);
}

}  // namespace
}  // namespace cppbx::proxy
