// The redis locator's maker: a valid [proxy.locator] builds the locator
// without connecting anywhere (--check-config builds locators too), and
// invalid keys are errors at their own position that never repeat the
// password of the url.
#include "app/redis_locator_maker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"

namespace cppbx::app {
namespace {

config::LocatorConfig parsed(const std::string& toml_text) {
  config::Diagnostics diagnostics;
  config::Config config = config::load_string(toml_text, "test.toml", diagnostics);
  EXPECT_FALSE(diagnostics.has_errors());
  return config.proxy.locator;
}

TEST(RedisLocatorMaker, ValidKeysBuildTheLocatorWithoutConnecting) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  // Port 1 on loopback has no Redis: building must not care.
  auto config = parsed(
      "[proxy.locator]\ntype = \"redis\"\nurl = \"redis://:secret@127.0.0.1:1/2\"\ntimeout_ms = 250\n"
      "max_in_flight = 8\npool_size = 2\nkey_prefix = \"pbx1:\"\nmax_bindings_per_aor = 4\n");
  auto locator = make_locator(config, {io, "", "sip:127.0.0.1:5060"}, diagnostics);
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "redis");
  EXPECT_TRUE(diagnostics.all().empty()) << diagnostics.all().front().to_string();
}

TEST(RedisLocatorMaker, BadValuesAreErrorsAtTheirKeyAndTheUrlPasswordIsNeverRepeated) {
  boost::asio::io_context io;
  struct Case {
    std::string keys;
    std::string key;
  };
  for (const Case& c : std::vector<Case>{
           {"url = \"http://:topsecret@127.0.0.1\"", "proxy.locator.url"},
           {"url = \"redis://:topsecret@127.0.0.1:99999\"", "proxy.locator.url"},
           {"url = \"redis://127.0.0.1\"\ntimeout_ms = 0", "proxy.locator.timeout_ms"},
           {"url = \"redis://127.0.0.1\"\npool_size = \"four\"", "proxy.locator.pool_size"},
           {"url = \"redis://127.0.0.1\"\nmax_in_flight = -1", "proxy.locator.max_in_flight"},
           {"url = \"redis://127.0.0.1\"\nkey_prefix = 3", "proxy.locator.key_prefix"},
           {"timeout_ms = 100", "proxy.locator.url"},
       }) {
    config::Diagnostics diagnostics;
    auto config = parsed("[proxy.locator]\ntype = \"redis\"\n" + c.keys + "\n");
    auto locator = make_locator(config, {io, "", "sip:127.0.0.1:5060"}, diagnostics);
    EXPECT_FALSE(locator) << c.keys;
    ASSERT_TRUE(diagnostics.has_errors()) << c.keys;
    EXPECT_EQ(diagnostics.all().front().key, c.key) << c.keys;
    EXPECT_GT(diagnostics.all().front().where.line, 0u) << c.keys;
    for (const auto& diagnostic : diagnostics.all()) {
      EXPECT_EQ(diagnostic.to_string().find("topsecret"), std::string::npos) << diagnostic.to_string();
    }
  }
}

TEST(RedisLocatorMaker, UnknownKeysAreWarnedAbout) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto config = parsed("[proxy.locator]\ntype = \"redis\"\nurl = \"redis://127.0.0.1\"\ntimout_ms = 5\n");
  auto locator = make_locator(config, {io, "", "sip:127.0.0.1:5060"}, diagnostics);
  ASSERT_TRUE(locator);
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all()[0].key, "proxy.locator.timout_ms");
}

}  // namespace
}  // namespace cppbx::app
