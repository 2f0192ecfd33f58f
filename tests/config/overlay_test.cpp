// The console's settings file (<generated_dir>/proxy_settings.toml) loaded
// over the main file: each of its four keys replaces the main file's value
// wholesale, others keep the main file's; its problems name the overlay
// file, line, column and key; a missing overlay changes nothing; what cppbx
// writes loads back to the same settings.
#include <sys/stat.h>

#include "config_test_support.hpp"

namespace cppbx::config::testing {
namespace {

constexpr const char* kMainFile = R"(
database_url = "sqlite://main.sqlite3"

[proxy]
realms = ["main.example.com"]
generated_dir = "gen"
udp_port = 15070

[[proxy.user_backends]]
type = "memory"
users = [{ username = "1001", password = "pw-1001" }]

[[proxy.user_backends]]
type = "plain"
path = "users.txt"

[proxy.locator]
type = "memory"
max_bindings_per_aor = 4

[proxy.locator_webhook]
url = "http://127.0.0.1:9/hook"
headers = { Authorization = "Bearer main" }
)";

class OverlayTest : public ConfigFileTest {
 protected:
  Config load_main() { return load(kMainFile); }
  std::string write_overlay(const std::string& text) {
    std::filesystem::create_directories(dir_ / "gen");
    return write(text, "gen/proxy_settings.toml");
  }
};

TEST_F(OverlayTest, GeneratedDirIsRelativeToTheMainFilesFolder) {
  Config c = load_main();
  EXPECT_EQ(generated_dir_path(c), (dir_ / "gen").string());
  EXPECT_EQ(overlay_path(c), (dir_ / "gen" / "proxy_settings.toml").string());
  c.proxy.generated_dir = "/var/lib/cppbx";
  EXPECT_EQ(generated_dir_path(c), "/var/lib/cppbx");
}

TEST_F(OverlayTest, EmbeddedDefaultUsesTheWorkingFolder) {
  std::string user, password;
  Config c = embedded_default(user, password);
  EXPECT_EQ(generated_dir_path(c), (std::filesystem::current_path() / "config").string());
}

TEST_F(OverlayTest, MissingOverlayChangesNothing) {
  Config c = load_main();
  ASSERT_FALSE(diagnostics_.has_errors()) << all_text();
  EXPECT_FALSE(apply_overlay_file(c, diagnostics_));
  EXPECT_FALSE(diagnostics_.has_errors());
  EXPECT_EQ(c.proxy.realms, std::vector<std::string>{"main.example.com"});
  EXPECT_EQ(c.proxy.user_backends.size(), 2u);
  ASSERT_TRUE(c.proxy.locator_webhook.has_value());
}

TEST_F(OverlayTest, RealmsAloneReplaceRealmsAndKeepTheRest) {
  Config c = load_main();
  write_overlay("[proxy]\nrealms = [\"a.example.com\", \"b.example.com\"]\n");
  EXPECT_TRUE(apply_overlay_file(c, diagnostics_));
  EXPECT_FALSE(diagnostics_.has_errors()) << all_text();
  EXPECT_EQ(c.proxy.realms, (std::vector<std::string>{"a.example.com", "b.example.com"}));
  EXPECT_EQ(c.proxy.user_backends.size(), 2u);
  EXPECT_EQ(c.proxy.locator.max_bindings_per_aor, 4u);
  ASSERT_TRUE(c.proxy.locator_webhook.has_value());
  EXPECT_EQ(c.proxy.locator_webhook->url, "http://127.0.0.1:9/hook");
  EXPECT_EQ(c.proxy.udp_port, 15070);
}

TEST_F(OverlayTest, UserBackendsAreReplacedWholesale) {
  Config c = load_main();
  write_overlay(R"([[proxy.user_backends]]
type = "http"
url = "http://127.0.0.1:8000/verify"
)");
  apply_overlay_file(c, diagnostics_);
  EXPECT_FALSE(diagnostics_.has_errors()) << all_text();
  ASSERT_EQ(c.proxy.user_backends.size(), 1u);
  const auto& backend = c.proxy.user_backends[0];
  EXPECT_EQ(backend.type, "http");
  EXPECT_EQ(backend.table["url"].value_or(std::string()), "http://127.0.0.1:8000/verify");
  EXPECT_EQ(backend.database_url, "sqlite://main.sqlite3") << "the main file's database_url";
  EXPECT_EQ(backend.config_dir, dir_.string()) << "relative paths from the main file's folder";
  EXPECT_EQ(backend.where.file, overlay_path(c));
  EXPECT_EQ(c.proxy.realms, std::vector<std::string>{"main.example.com"});
}

TEST_F(OverlayTest, LocatorIsReplacedWholesale) {
  Config c = load_main();
  write_overlay("[proxy.locator]\ntype = \"database\"\nurl = \"sqlite://loc.sqlite3\"\n");
  apply_overlay_file(c, diagnostics_);
  EXPECT_FALSE(diagnostics_.has_errors()) << all_text();
  EXPECT_EQ(c.proxy.locator.type, "database");
  EXPECT_EQ(c.proxy.locator.max_bindings_per_aor, 10u) << "not merged with the main file's";
  EXPECT_EQ(c.proxy.locator.table["url"].value_or(std::string()), "sqlite://loc.sqlite3");
}

TEST_F(OverlayTest, WebhookIsReplacedOrRemoved) {
  Config c = load_main();
  write_overlay("[proxy.locator_webhook]\nurl = \"http://127.0.0.1:10/other\"\ntimeout_ms = 700\n");
  apply_overlay_file(c, diagnostics_);
  EXPECT_FALSE(diagnostics_.has_errors()) << all_text();
  ASSERT_TRUE(c.proxy.locator_webhook.has_value());
  EXPECT_EQ(c.proxy.locator_webhook->url, "http://127.0.0.1:10/other");
  EXPECT_EQ(c.proxy.locator_webhook->timeout_ms, 700u);
  EXPECT_TRUE(c.proxy.locator_webhook->headers.empty()) << "headers not merged";

  write_overlay("[proxy]\nlocator_webhook = false\n");
  apply_overlay_file(c, diagnostics_);
  EXPECT_FALSE(diagnostics_.has_errors()) << all_text();
  EXPECT_FALSE(c.proxy.locator_webhook.has_value());
}

TEST_F(OverlayTest, ProblemsNameTheOverlayFileLineColumnAndKey) {
  Config c = load_main();
  std::string path = write_overlay("[proxy]\nrealms = [\"ok\"]\n\n[proxy.locator_webhook]\nurl = \"x\"\ntimeout_ms = 0\n");
  apply_overlay_file(c, diagnostics_);
  ASSERT_TRUE(diagnostics_.has_errors());
  auto url = about("proxy.locator_webhook.url");
  ASSERT_EQ(url.size(), 1u) << all_text();
  EXPECT_EQ(url[0].where.file, path);
  EXPECT_EQ(url[0].where.line, 5u);
  EXPECT_EQ(url[0].where.column, 7u);
  auto timeout = about("proxy.locator_webhook.timeout_ms");
  ASSERT_EQ(timeout.size(), 1u) << all_text();
  EXPECT_EQ(timeout[0].where.line, 6u);
  EXPECT_NE(timeout[0].to_string().find(path + ":6:"), std::string::npos) << timeout[0].to_string();
}

TEST_F(OverlayTest, BackendProblemsCarryTheirIndex) {
  Config c = load_main();
  write_overlay("[[proxy.user_backends]]\ntype = \"memory\"\n\n[[proxy.user_backends]]\ntype = \"nosuch\"\n");
  apply_overlay_file(c, diagnostics_);
  auto found = about("proxy.user_backends[1].type");
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].where.line, 5u);
}

TEST_F(OverlayTest, OtherKeysAreRefused) {
  Config c = load_main();
  std::string path = write_overlay("log_level = \"debug\"\n[proxy]\nudp_port = 1\nrealms = [\"r\"]\n");
  apply_overlay_file(c, diagnostics_);
  ASSERT_EQ(about("log_level").size(), 1u) << all_text();
  auto port = about("proxy.udp_port");
  ASSERT_EQ(port.size(), 1u) << all_text();
  EXPECT_EQ(port[0].where.file, path);
  EXPECT_EQ(port[0].where.line, 3u);
  EXPECT_EQ(c.proxy.udp_port, 15070) << "never taken from the overlay";
  EXPECT_EQ(c.log_level, "info");
}

TEST_F(OverlayTest, BrokenTomlIsReportedWithItsPosition) {
  Config c = load_main();
  std::string path = write_overlay("[proxy]\nrealms = [\"a\"\n");
  apply_overlay_file(c, diagnostics_);
  ASSERT_TRUE(diagnostics_.has_errors());
  EXPECT_EQ(diagnostics_.all().front().where.file, path);
  EXPECT_GT(diagnostics_.all().front().where.line, 0u);
}

TEST_F(OverlayTest, WhatIsWrittenLoadsBackTheSameAndIsPrivate) {
  Config c = load_main();
  ASSERT_FALSE(diagnostics_.has_errors()) << all_text();
  c.proxy.realms = {"x.example.com"};
  c.proxy.locator.max_bindings_total = 77;
  std::string error;
  ASSERT_TRUE(write_overlay_file(c, error)) << error;
  struct stat info {};
  ASSERT_EQ(::stat(overlay_path(c).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  Diagnostics again;
  Config reloaded = load_file_with_overlay(path_, again);
  ASSERT_FALSE(again.has_errors());
  EXPECT_EQ(reloaded.proxy.realms, std::vector<std::string>{"x.example.com"});
  ASSERT_EQ(reloaded.proxy.user_backends.size(), 2u);
  EXPECT_EQ(reloaded.proxy.user_backends[0].type, "memory");
  EXPECT_EQ(reloaded.proxy.user_backends[0].table, c.proxy.user_backends[0].table);
  EXPECT_EQ(reloaded.proxy.user_backends[1].table["path"].value_or(std::string()), "users.txt");
  EXPECT_EQ(reloaded.proxy.locator.max_bindings_total, 77u);
  EXPECT_EQ(reloaded.proxy.locator.max_bindings_per_aor, 4u);
  ASSERT_TRUE(reloaded.proxy.locator_webhook.has_value());
  EXPECT_EQ(reloaded.proxy.locator_webhook->headers,
            (std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer main"}}));

  c.proxy.locator_webhook.reset();
  ASSERT_TRUE(write_overlay_file(c, error)) << error;
  Diagnostics third;
  EXPECT_FALSE(load_file_with_overlay(path_, third).proxy.locator_webhook.has_value());
  EXPECT_FALSE(third.has_errors());
}

TEST_F(OverlayTest, WritingIntoAnUnwritablePlaceFailsAndSaysWhere) {
  Config c = load_main();
  write("not a folder", "blocker");
  c.proxy.generated_dir = (dir_ / "blocker" / "sub").string();
  std::string error;
  EXPECT_FALSE(write_overlay_file(c, error));
  EXPECT_NE(error.find("blocker"), std::string::npos) << error;
}

}  // namespace
}  // namespace cppbx::config::testing
