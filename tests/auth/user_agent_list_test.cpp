// UserAgentList: which User-Agent strings get an MD5-only offer, with the
// real User-Agent values of the softphones the default list is about.
#include <gtest/gtest.h>

#include "auth/user_agent_list.hpp"

namespace cppbx::auth {
namespace {

const std::vector<std::string> kDefaults = {"baresip<3.11", "PJSUA<2.12", "MicroSIP"};

TEST(UserAgentList, DefaultEntriesMatchTheOldSoftphones) {
  UserAgentList list(kDefaults);
  EXPECT_EQ(list.match("baresip v1.0.0 (x86_64/Linux)"), "baresip<3.11");
  EXPECT_EQ(list.match("baresip v3.10.1 (x86_64/Linux)"), "baresip<3.11");
  EXPECT_EQ(list.match("PJSUA v2.10 Linux-5.10/x86_64/glibc-2.31"), "PJSUA<2.12");
  EXPECT_EQ(list.match("PJSUA v2.11.1 Linux-5.10/x86_64/glibc-2.31"), "PJSUA<2.12");
  EXPECT_EQ(list.match("MicroSIP/3.21.3"), "MicroSIP");
}

TEST(UserAgentList, NewerVersionsAndOtherClientsKeepTheFullOffer) {
  UserAgentList list(kDefaults);
  EXPECT_EQ(list.match("baresip v3.11.0 (x86_64/Linux)"), std::nullopt);
  EXPECT_EQ(list.match("baresip v3.20.0 (aarch64/Linux)"), std::nullopt);
  EXPECT_EQ(list.match("PJSUA v2.12 Linux-6.1/x86_64/glibc-2.36"), std::nullopt);
  EXPECT_EQ(list.match("PJSUA v2.15.1 Darwin"), std::nullopt);
  EXPECT_EQ(list.match("Linphone Desktop/5.2.0 (Debian GNU/Linux 12) LinphoneSDK/5.3"),
            std::nullopt);
  EXPECT_EQ(list.match("Zoiper rv2.10.20"), std::nullopt);
  EXPECT_EQ(list.match(""), std::nullopt);
}

TEST(UserAgentList, MatchingIgnoresCase) {
  UserAgentList list(kDefaults);
  EXPECT_EQ(list.match("BARESIP V1.0.0"), "baresip<3.11");
  EXPECT_EQ(list.match("microsip/3.19"), "MicroSIP");
}

TEST(UserAgentList, NameWithoutReadableVersionStillMatches) {
  UserAgentList list({"baresip<3.11"});
  // Failing to register is worse than losing SHA-256 for one client.
  EXPECT_TRUE(list.match("baresip"));
  EXPECT_TRUE(list.match("my-baresip-fork (custom)"));
}

TEST(UserAgentList, VersionSeparatorsAreSkipped) {
  UserAgentList list({"Phone<2.5"});
  EXPECT_TRUE(list.match("Phone/2.4.9"));
  EXPECT_TRUE(list.match("Phone v2.4"));
  EXPECT_TRUE(list.match("Phone V2"));
  EXPECT_FALSE(list.match("Phone/2.5"));
  EXPECT_FALSE(list.match("Phone 2.5.0"));
  EXPECT_FALSE(list.match("Phone/10.0"));  // numeric, not text, comparison
}

TEST(UserAgentList, MalformedEntriesAreRejectedNotMatchedEverything) {
  std::vector<std::string> rejected;
  UserAgentList list({"", " ", "<1.0", "x<", "y<1..2", "ok"}, &rejected);
  EXPECT_EQ(rejected, (std::vector<std::string>{"", " ", "<1.0", "x<", "y<1..2"}));
  EXPECT_FALSE(list.match("anything at all"));
  EXPECT_TRUE(list.match("an ok phone"));
  EXPECT_TRUE(UserAgentList::valid_entry("Softy < 2.0.1"));
  EXPECT_FALSE(UserAgentList::valid_entry("Softy < 2.0.x"));
}

TEST(UserAgentList, EmptyListMatchesNothing) {
  UserAgentList list({});
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.match("baresip v1.0.0"));
}

TEST(Version, ParseCompareAndLeadingPart) {
  EXPECT_EQ(parse_version("3.11.0"), (std::vector<unsigned>{3, 11, 0}));
  EXPECT_EQ(parse_version("3.11a"), std::nullopt);
  EXPECT_EQ(parse_version("99999999999"), std::nullopt);  // overflow refused
  EXPECT_EQ(leading_version("2.10-dev rest"), (std::vector<unsigned>{2, 10}));
  EXPECT_EQ(leading_version("2.x"), (std::vector<unsigned>{2}));
  EXPECT_TRUE(leading_version("dev").empty());
  EXPECT_TRUE(version_less({2, 10}, {2, 11}));
  EXPECT_TRUE(version_less({2, 9, 9}, {2, 10}));
  EXPECT_FALSE(version_less({2, 10}, {2, 10, 0}));
  EXPECT_FALSE(version_less({2, 10, 0}, {2, 10}));
  EXPECT_FALSE(version_less({10}, {9, 99}));
}

}  // namespace
}  // namespace cppbx::auth
