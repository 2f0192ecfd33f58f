// The http locator's maker: a valid [proxy.locator] builds the locator
// without contacting the service (--check-config builds locators too), and
// invalid keys are errors at their own position that never repeat a header
// value (API keys).
#include "app/http_locator_maker.hpp"

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

TEST(HttpLocatorMaker, ValidKeysBuildTheLocatorWithoutContactingTheService) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  // Port 1 on loopback has no service: building must not care.
  auto config = parsed(
      "[proxy.locator]\ntype = \"http\"\nurl = \"http://127.0.0.1:1/registry\"\ntimeout_ms = 250\n"
      "max_in_flight = 8\nheaders = { \"X-API-Key\" = \"k\" }\nmax_bindings_per_aor = 4\nsweep_interval_seconds = 2\n");
  auto locator = make_locator(config, {io, "", "sip:127.0.0.1:5060"}, diagnostics);
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "http");
  EXPECT_TRUE(diagnostics.all().empty()) << diagnostics.all().front().to_string();
}

TEST(HttpLocatorMaker, BadValuesAreErrorsAtTheirKeyAndHeaderValuesAreNeverRepeated) {
  boost::asio::io_context io;
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
    config::Diagnostics diagnostics;
    auto config = parsed("[proxy.locator]\ntype = \"http\"\n" + c.keys + "\n");
    auto locator = make_locator(config, {io, "", "sip:127.0.0.1:5060"}, diagnostics);
    EXPECT_FALSE(locator) << c.keys;
    ASSERT_TRUE(diagnostics.has_errors()) << c.keys;
    EXPECT_EQ(diagnostics.all().front().key, c.key) << c.keys;
    EXPECT_GT(diagnostics.all().front().where.line, 0u) << c.keys;
    for (const auto& diagnostic : diagnostics.all()) {
      EXPECT_EQ(diagnostic.to_string().find("secret"), std::string::npos) << diagnostic.to_string();
    }
  }
}

TEST(HttpLocatorMaker, UnknownKeysAreWarnedAbout) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto config = parsed("[proxy.locator]\ntype = \"http\"\nurl = \"http://127.0.0.1\"\ntimout_ms = 5\n");
  auto locator = make_locator(config, {io, "", "sip:127.0.0.1:5060"}, diagnostics);
  ASSERT_TRUE(locator);
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all()[0].key, "proxy.locator.timout_ms");
}

}  // namespace
}  // namespace cppbx::app
