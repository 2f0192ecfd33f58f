// The http locator's maker: a valid [proxy.locator] builds the locator
// without contacting the service (--check-config builds locators too), and
// invalid keys are errors at their own position that never repeat a header
// value (API keys).
#include "app/http_locator_maker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "locator_maker_test_support.hpp"

namespace cppbx::app {
namespace {

using namespace cppbx::app::testing;

TEST(HttpLocatorMaker, ValidKeysBuildTheLocatorWithoutContactingTheService) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  // Port 1 on loopback has no service: building must not care.
  auto locator = build(io, "http",
                       "url = \"http://127.0.0.1:1/registry\"\ntimeout_ms = 250\nmax_in_flight = 8\n"
                       "headers = { \"X-API-Key\" = \"k\" }\nmax_bindings_per_aor = 4\nsweep_interval_seconds = 2",
                       diagnostics);
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "http");
  EXPECT_TRUE(diagnostics.all().empty()) << diagnostics.all().front().to_string();
}

TEST(HttpLocatorMaker, BadValuesAreErrorsAtTheirKeyAndHeaderValuesAreNeverRepeated) {
  struct Case {
    std::string keys;
    std::string key;
  };
  for (const Case& c : std::vector<Case>{
           {"url = \"ftp://127.0.0.1/x\"", "proxy.locator.url"},
           {"url = 5", "proxy.locator.url"},
           {"timeout_ms = 100", "proxy.locator.url"},
           {"url = \"http://127.0.0.1\"\ntimeout_ms = 0", "proxy.locator.timeout_ms"},
           {"url = \"http://127.0.0.1\"\nmax_in_flight = \"many\"", "proxy.locator.max_in_flight"},
           {"url = \"http://127.0.0.1\"\nheaders = \"X: topsecret\"", "proxy.locator.headers"},
           {"url = \"http://127.0.0.1\"\nheaders = { \"Bad Name\" = \"topsecret\" }", "proxy.locator.headers"},
           {"url = \"http://127.0.0.1\"\nheaders = { \"X-Key\" = \"top\\r\\nsecret\" }", "proxy.locator.headers"},
       }) {
    expect_rejected_at("http", c.keys, c.key, "secret");
  }
}

TEST(HttpLocatorMaker, UnknownKeysAreWarnedAbout) {
  expect_unknown_key_warned("http", "url = \"http://127.0.0.1\"\ntimout_ms = 5", "proxy.locator.timout_ms");
}

}  // namespace
}  // namespace cppbx::app
