// The locator factory: the memory type is built from [proxy.locator], and a
// type that is not built falls back to memory with a warning naming it (so
// a RustPBX file still starts), instead of failing or silently ignoring it.
#include "app/locator_factory.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace cppbx::app {
namespace {

config::LocatorConfig locator_config(std::string type) {
  config::LocatorConfig config;
  config.type = std::move(type);
  return config;
}

TEST(LocatorFactory, MemoryTypeIsBuiltWithoutDiagnostics) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto locator = make_locator(locator_config("memory"), {io, "sqlite::memory:", "sip:127.0.0.1:5060"},
                              diagnostics);
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "memory");
  EXPECT_TRUE(diagnostics.all().empty());
}

TEST(LocatorFactory, TypeNotBuiltFallsBackToMemoryWithAWarning) {
  boost::asio::io_context io;
  config::Diagnostics diagnostics;
  auto locator = make_locator(locator_config("carrier-pigeon"), {io, "", ""}, diagnostics);
  ASSERT_TRUE(locator);
  EXPECT_EQ(locator->type(), "memory");
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all()[0].severity, config::Diagnostic::Severity::Warning);
  EXPECT_NE(diagnostics.all()[0].message.find("'carrier-pigeon' falls back to memory"), std::string::npos);
  EXPECT_EQ(diagnostics.all()[0].key, "proxy.locator.type");
}

}  // namespace
}  // namespace cppbx::app
