// The plain-file backend: parsing rules, start-up errors, and reloading both
// on reload() and by the watcher when the file changes.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "users/backend_factory.hpp"
#include "users/plain_backend.hpp"

namespace cppbx::users {
namespace {

using config::Diagnostic;
using testing::backend_config;
using testing::has_diagnostic;
using testing::lookup_now;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("cppbx-plain-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto file = path_ / name;
    std::ofstream(file, std::ios::trunc) << content;
    return file.string();
  }
  std::string dir() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(PlainFileParsing, CommentsBlankLinesWhitespaceAndMalformedLines) {
  auto content = parse_plain_users(
      "# the team\n"
      "\n"
      "  alice : wonder land  \r\n"
      "bob:pa:ss\n"
      "no-colon-here\n"
      ":nopassuser\n"
      "carol:\n"
      "   \t\n"
      "alice:again\n"
      "dave:last");
  EXPECT_EQ(content.passwords.size(), 3u);
  EXPECT_EQ(content.passwords.at("alice"), "wonder land");
  EXPECT_EQ(content.passwords.at("bob"), "pa:ss");
  EXPECT_EQ(content.passwords.at("dave"), "last");
  ASSERT_EQ(content.problems.size(), 4u);
  EXPECT_EQ(content.problems[0].first, 5u);
  EXPECT_EQ(content.problems[1].first, 6u);
  EXPECT_EQ(content.problems[2].first, 7u);
  EXPECT_EQ(content.problems[3].first, 9u);  // duplicate alice: first one kept
}

TEST(PlainBackend, LooksUpUsersFromTheFile) {
  TempDir dir;
  std::string path = dir.write("users.txt", "1001:secret\n1002:other\n");
  std::string error;
  auto backend = PlainBackend::open({path, std::chrono::milliseconds(0)}, &error);
  ASSERT_TRUE(backend) << error;
  auto found = lookup_now(*backend, "1001", "any.realm");
  ASSERT_EQ(found->outcome, LookupOutcome::Found);
  EXPECT_EQ(found->user.username, "1001");
  EXPECT_EQ(found->user.password, "secret");
  EXPECT_TRUE(found->user.enabled);
  EXPECT_TRUE(found->user.realm.empty());
  EXPECT_EQ(lookup_now(*backend, "1003")->outcome, LookupOutcome::NotFound);
}

TEST(PlainBackend, ReloadPicksUpChangesAndKeepsOldDataOnFailure) {
  TempDir dir;
  std::string path = dir.write("users.txt", "1001:secret\n");
  auto backend = PlainBackend::open({path, std::chrono::milliseconds(0)}, nullptr);
  ASSERT_TRUE(backend);
  dir.write("users.txt", "1002:new\n");
  backend->reload();
  EXPECT_EQ(lookup_now(*backend, "1001")->outcome, LookupOutcome::NotFound);
  EXPECT_EQ(lookup_now(*backend, "1002")->user.password, "new");
  std::filesystem::remove(path);
  backend->reload();
  EXPECT_EQ(lookup_now(*backend, "1002")->outcome, LookupOutcome::Found);
}

TEST(PlainBackend, WatcherReloadsWhenTheFileChanges) {
  TempDir dir;
  std::string path = dir.write("users.txt", "1001:secret\n");
  auto backend = PlainBackend::open({path, std::chrono::milliseconds(20)}, nullptr);
  ASSERT_TRUE(backend);
  dir.write("users.txt", "1001:secret\n1002:added\n");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (lookup_now(*backend, "1002")->outcome != LookupOutcome::Found &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(lookup_now(*backend, "1002")->user.password, "added");
  EXPECT_EQ(backend->user_count(), 2u);
}

TEST(PlainBackendConfig, RelativePathIsResolvedAgainstTheConfigFolder) {
  TempDir dir;
  dir.write("users.txt", "1001:secret\n");
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config("type = \"plain\"\npath = \"./users.txt\"\n", dir.dir()), diagnostics);
  ASSERT_TRUE(backend);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_EQ(lookup_now(*backend, "1001")->outcome, LookupOutcome::Found);
}

TEST(PlainBackendConfig, MissingFileIsAStartUpErrorOnPath) {
  TempDir dir;
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config("type = \"plain\"\npath = \"missing.txt\"\n", dir.dir()), diagnostics);
  EXPECT_FALSE(backend);
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Error, "proxy.user_backends[0].path", "missing.txt"));
  for (const auto& item : diagnostics.all()) {
    EXPECT_EQ(item.where.line, 2u) << item.to_string();
  }
}

TEST(PlainBackendConfig, PathIsRequiredAndUnknownKeysWarn) {
  config::Diagnostics diagnostics;
  EXPECT_FALSE(make_backend(backend_config("type = \"plain\"\nfile = \"x\"\n"), diagnostics));
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Error, "proxy.user_backends[0].path", "required"));
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Warning, "proxy.user_backends[0].file", "unknown"));
  config::Diagnostics wrong_type;
  EXPECT_FALSE(make_backend(backend_config("type = \"plain\"\npath = 5\n"), wrong_type));
  EXPECT_TRUE(has_diagnostic(wrong_type, Diagnostic::Severity::Error, "proxy.user_backends[0].path", "string"));
}

}  // namespace
}  // namespace cppbx::users
