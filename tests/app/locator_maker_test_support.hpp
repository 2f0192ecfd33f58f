// What the locator maker tests share: a [proxy.locator] table parsed from
// TOML text, a maker run on it, and the check every maker must pass for a bad
// key (no locator, an error at that key with a position, and no diagnostic
// that repeats a secret such as a password or a header value).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "app/locator_factory.hpp"
#include "config/config.hpp"

namespace cppbx::app::testing {

inline const std::string kHomeProxy = "sip:127.0.0.1:5060";

inline config::LocatorConfig parsed(const std::string& toml_text) {
  config::Diagnostics diagnostics;
  config::Config config = config::load_string(toml_text, "test.toml", diagnostics);
  EXPECT_FALSE(diagnostics.has_errors());
  return config.proxy.locator;
}

// The locator of `type` built from `keys` (TOML lines under [proxy.locator]).
inline std::shared_ptr<location::Locator> build(boost::asio::io_context& io, const std::string& type,
                                                const std::string& keys, config::Diagnostics& diagnostics,
                                                const std::string& database_url = "") {
  auto config = parsed("[proxy.locator]\ntype = \"" + type + "\"\n" + keys + "\n");
  return make_locator(config, {io, database_url, kHomeProxy}, diagnostics);
}

inline void expect_rejected_at(const std::string& type, const std::string& keys, const std::string& key,
                               const std::string& secret, const std::string& database_url = "") {
  SCOPED_TRACE(keys);
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto locator = build(io, type, keys, diagnostics, database_url);
  EXPECT_FALSE(locator);
  ASSERT_TRUE(diagnostics.has_errors());
  EXPECT_EQ(diagnostics.all().front().key, key);
  EXPECT_GT(diagnostics.all().front().where.line, 0u);
  for (const auto& diagnostic : diagnostics.all()) {
    EXPECT_EQ(diagnostic.to_string().find(secret), std::string::npos) << diagnostic.to_string();
  }
}

// A misspelt key still builds the locator, with one warning naming it.
inline void expect_unknown_key_warned(const std::string& type, const std::string& keys,
                                      const std::string& key, const std::string& database_url = "") {
  SCOPED_TRACE(keys);
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto locator = build(io, type, keys, diagnostics, database_url);
  ASSERT_TRUE(locator);
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all()[0].key, key);
}

}  // namespace cppbx::app::testing
