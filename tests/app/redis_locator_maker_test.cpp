// The redis locator's maker: a valid [proxy.locator] builds the locator
// without connecting anywhere (--check-config builds locators too), and
// invalid keys are errors at their own position that never repeat the
// password of the url.
#include "app/redis_locator_maker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "locator_maker_test_support.hpp"

namespace cppbx::app {
namespace {

using namespace cppbx::app::testing;

TEST(RedisLocatorMaker, ValidKeysBuildTheLocatorWithoutConnecting) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  // Port 1 on loopback has no Redis: building must not care.
  auto locator = build(io, "redis",
                       "url = \"redis://:secret@127.0.0.1:1/2\"\ntimeout_ms = 250\nmax_in_flight = 8\n"
                       "pool_size = 2\nkey_prefix = \"pbx1:\"\nmax_bindings_per_aor = 4",
                       diagnostics);
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "redis");
  EXPECT_TRUE(diagnostics.all().empty()) << diagnostics.all().front().to_string();
}

TEST(RedisLocatorMaker, BadValuesAreErrorsAtTheirKeyAndTheUrlPasswordIsNeverRepeated) {
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
    expect_rejected_at("redis", c.keys, c.key, "topsecret");
  }
}

TEST(RedisLocatorMaker, UnknownKeysAreWarnedAbout) {
  expect_unknown_key_warned("redis", "url = \"redis://127.0.0.1\"\ntimout_ms = 5", "proxy.locator.timout_ms");
}

}  // namespace
}  // namespace cppbx::app
