// The [console] keys this layer reads: base_path and secure_cookie are
// loaded and checked; RustPBX's other console keys stay "not yet supported".
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace cppbx::config {
namespace {

Config load(const std::string& text, Diagnostics& diagnostics) {
  return load_string(text, "test.toml", diagnostics);
}

TEST(ConsoleConfigTest, DefaultsWithoutTheSection) {
  Diagnostics diagnostics;
  Config config = load("", diagnostics);
  EXPECT_EQ(config.console.base_path, "/console");
  EXPECT_FALSE(config.console.secure_cookie);
}

TEST(ConsoleConfigTest, ReadsBasePathAndSecureCookie) {
  Diagnostics diagnostics;
  Config config = load("[console]\nbase_path = \"/admin/ui\"\nsecure_cookie = true\n", diagnostics);
  EXPECT_TRUE(diagnostics.all().empty());
  EXPECT_EQ(config.console.base_path, "/admin/ui");
  EXPECT_TRUE(config.console.secure_cookie);
}

TEST(ConsoleConfigTest, RefusesBadPathsWithPosition) {
  for (const char* path : {"console", "/console/", "/", "/api/x", "/a b"}) {
    Diagnostics diagnostics;
    Config config = load(std::string("[console]\nbase_path = \"") + path + "\"\n", diagnostics);
    ASSERT_TRUE(diagnostics.has_errors()) << path;
    EXPECT_EQ(diagnostics.all().front().key, "console.base_path");
    EXPECT_EQ(diagnostics.all().front().where.line, 2u);
    EXPECT_EQ(config.console.base_path, "/console");
  }
  Diagnostics diagnostics;
  load("[console]\nsecure_cookie = \"yes\"\n", diagnostics);
  EXPECT_TRUE(diagnostics.has_errors());
}

TEST(ConsoleConfigTest, OtherRustPbxKeysAreWarnedNotRefused) {
  Diagnostics diagnostics;
  load("[console]\nsession_secret = \"x\"\nallow_registration = false\n", diagnostics);
  EXPECT_FALSE(diagnostics.has_errors());
  ASSERT_EQ(diagnostics.all().size(), 2u);
  for (const auto& item : diagnostics.all()) {
    EXPECT_NE(item.message.find("not yet supported"), std::string::npos);
    EXPECT_EQ(item.key.rfind("console.", 0), 0u);
  }
}

}  // namespace
}  // namespace cppbx::config
