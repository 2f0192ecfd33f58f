// The keys this layer reads: [console] base_path and secure_cookie are
// loaded and checked, RustPBX's other console keys stay "not yet
// supported"; https_addr needs host:port and a certificate with its key.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/test_certificate.hpp"

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

TEST(HttpsAddrTest, NeedsHostPortAndACertificate) {
  Diagnostics bad_address;
  load("https_addr = \"8443\"\n", bad_address);
  ASSERT_TRUE(bad_address.has_errors());
  EXPECT_EQ(bad_address.all().front().key, "https_addr");

  Diagnostics no_certificate;
  Config config = load("https_addr = \"127.0.0.1:8443\"\n", no_certificate);
  ASSERT_TRUE(no_certificate.has_errors());
  EXPECT_EQ(no_certificate.all().front().key, "https_addr");
  EXPECT_NE(no_certificate.all().front().message.find("ssl_certificate"), std::string::npos);
  EXPECT_EQ(no_certificate.all().front().where.line, 1u);
}

TEST(HttpsAddrTest, AcceptedWithCertificateAndKey) {
  test::TestCertificate certificate;
  Diagnostics diagnostics;
  Config config = load("https_addr = \"127.0.0.1:8443\"\nssl_certificate = \"" + certificate.certificate_file() +
                           "\"\nssl_private_key = \"" + certificate.private_key_file() + "\"\n",
                       diagnostics);
  EXPECT_FALSE(diagnostics.has_errors()) << (diagnostics.all().empty() ? "" : diagnostics.all().front().to_string());
  EXPECT_EQ(config.https_addr, "127.0.0.1:8443");
  EXPECT_EQ(config.ssl_certificate, certificate.certificate_file());
}

}  // namespace
}  // namespace cppbx::config
