// The per-client digest offer keys (proxy.auth_md5_only_user_agents,
// proxy.auth_md5_fallback): defaults, valid values, and errors with position.
#include "config_test_support.hpp"

namespace cppbx::config::testing {
namespace {

TEST_F(ConfigFileTest, Md5OfferDefaultsNameTheAbortingSoftphones) {
  Config c = load("[proxy]\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.auth_md5_only_user_agents,
            (std::vector<std::string>{"baresip<3.11", "PJSUA<2.12", "MicroSIP"}));
  EXPECT_TRUE(c.proxy.auth_md5_fallback);
}

TEST_F(ConfigFileTest, Md5OfferKeysAreRead) {
  Config c = load(
      "[proxy]\nauth_md5_only_user_agents = [\"OldPhone\", \"Softy < 2.0.1\"]\n"
      "auth_md5_fallback = false\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.auth_md5_only_user_agents,
            (std::vector<std::string>{"OldPhone", "Softy < 2.0.1"}));
  EXPECT_FALSE(c.proxy.auth_md5_fallback);
}

TEST_F(ConfigFileTest, EmptyUserAgentListTurnsTheListOff) {
  Config c = load("[proxy]\nauth_md5_only_user_agents = []\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_TRUE(c.proxy.auth_md5_only_user_agents.empty());
}

struct BadEntry {
  const char* toml;
  const char* key;
  uint32_t column;
  const char* message_part;
};

class BadMd5OfferValue : public ConfigFileTest, public ::testing::WithParamInterface<BadEntry> {};

TEST_P(BadMd5OfferValue, IsOneErrorAndKeepsTheDefault) {
  const BadEntry& c = GetParam();
  Config config = load(std::string("[proxy]\n") + c.toml + "\n");
  auto found = errors();
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].key, c.key);
  EXPECT_EQ(found[0].where.line, 2u);
  EXPECT_EQ(found[0].where.column, c.column);
  EXPECT_NE(found[0].message.find(c.message_part), std::string::npos) << found[0].message;
  EXPECT_EQ(config.proxy.auth_md5_only_user_agents, ProxyConfig{}.auth_md5_only_user_agents);
}

const BadEntry kBadEntries[] = {
    {"auth_md5_only_user_agents = [\"ok\", \"\"]", "proxy.auth_md5_only_user_agents[1]", 36,
     "needs a name"},
    {"auth_md5_only_user_agents = [\"<1.0\"]", "proxy.auth_md5_only_user_agents[0]", 30,
     "needs a name"},
    {"auth_md5_only_user_agents = [\"phone<\"]", "proxy.auth_md5_only_user_agents[0]", 30,
     "not a version"},
    {"auth_md5_only_user_agents = [\"phone<1..2\"]", "proxy.auth_md5_only_user_agents[0]", 30,
     "not a version"},
    {"auth_md5_only_user_agents = [\"phone<v2\"]", "proxy.auth_md5_only_user_agents[0]", 30,
     "not a version"},
    {"auth_md5_only_user_agents = [\"phone<1.2.\"]", "proxy.auth_md5_only_user_agents[0]", 30,
     "not a version"},
    {"auth_md5_only_user_agents = [\"phone<12345678901\"]", "proxy.auth_md5_only_user_agents[0]",
     30, "not a version"},
    {"auth_md5_only_user_agents = [3]", "proxy.auth_md5_only_user_agents[0]", 30,
     "expected string"},
    {"auth_md5_only_user_agents = \"baresip\"", "proxy.auth_md5_only_user_agents", 29,
     "expected array"},
    {"auth_md5_fallback = \"yes\"", "proxy.auth_md5_fallback", 21, "expected boolean"},
};

INSTANTIATE_TEST_SUITE_P(Config, BadMd5OfferValue, ::testing::ValuesIn(kBadEntries));

}  // namespace
}  // namespace cppbx::config::testing
