// The database locator's maker: a valid [proxy.locator] builds the locator
// without connecting (--check-config builds locators too), the url falls
// back to the top-level database_url, and invalid keys are errors at their
// own position that never repeat the url's password.
#include "app/database_locator_maker.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include <boost/asio/io_context.hpp>

#include "locator_maker_test_support.hpp"

namespace cppbx::app {
namespace {

using namespace cppbx::app::testing;

TEST(DatabaseLocatorMaker, ValidKeysBuildTheLocatorWithoutConnecting) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  // Nothing listens on port 1 of loopback: building must neither fail nor wait.
  const std::string url = "postgres://cppbx:secret@127.0.0.1:1/cppbx";
  const auto started = std::chrono::steady_clock::now();
  auto locator = build(io, "database",
                       "url = \"" + url +
                           "\"\ntimeout_ms = 250\nmax_in_flight = 8\npool_size = 2\nmax_bindings_per_aor = 4\n"
                           "sweep_interval_seconds = 9",
                       diagnostics);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "database");
  EXPECT_TRUE(diagnostics.all().empty()) << diagnostics.all().front().to_string();
}

TEST(DatabaseLocatorMaker, WithoutUrlTheTopLevelDatabaseUrlIsUsed) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto locator = build(io, "database", "", diagnostics, "sqlite::memory:");
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "database");
  // It really is that database: a registration is stored and found.
  locator->start();
  location::UpdateRequest request;
  request.aor = "sip:alice@example.com";
  request.call_id = "c1";
  request.cseq = 1;
  location::Binding binding;
  binding.contact = "sip:alice@192.0.2.1";
  binding.expires_at = location::Clock::now() + std::chrono::seconds(60);
  request.upserts.push_back(binding);
  std::promise<location::UpdateResult> answer;
  locator->update(request, [&](location::UpdateResult r) { answer.set_value(std::move(r)); });
  EXPECT_EQ(answer.get_future().get().status, location::UpdateStatus::Ok);
  EXPECT_EQ(locator->binding_count(), 1u);
  locator->stop();
}

TEST(DatabaseLocatorMaker, BadValuesAreErrorsAtTheirKeyAndTheUrlPasswordIsNeverRepeated) {
  struct Case {
    std::string keys;
    std::string database_url;
    std::string key;
  };
  for (const Case& c : std::vector<Case>{
           {"url = \"redis://:topsecret@127.0.0.1\"", "", "proxy.locator.url"},
           {"url = 5", "", "proxy.locator.url"},
           {"", "", "proxy.locator.url"},
           {"timeout_ms = 0", "sqlite::memory:", "proxy.locator.timeout_ms"},
           {"pool_size = \"four\"", "sqlite::memory:", "proxy.locator.pool_size"},
           {"pool_size = 65", "sqlite::memory:", "proxy.locator.pool_size"},
           {"max_in_flight = -1", "sqlite::memory:", "proxy.locator.max_in_flight"},
       }) {
    expect_rejected_at("database", c.keys, c.key, "topsecret", c.database_url);
  }
}

TEST(DatabaseLocatorMaker, UnknownKeysAreWarnedAbout) {
  expect_unknown_key_warned("database", "pool_sise = 5", "proxy.locator.pool_sise", "sqlite::memory:");
}

}  // namespace
}  // namespace cppbx::app
