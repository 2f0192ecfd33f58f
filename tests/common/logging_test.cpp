// Logging tests write to temporary files and read them back: what matters is
// where lines end up and which levels are filtered.
#include "common/logging.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cppbx-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    cppbx::log::init("info", "");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST(LogLevel, ParsesKnownNamesCaseInsensitively) {
  EXPECT_EQ(cppbx::log::parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(cppbx::log::parse_level("INFO"), spdlog::level::info);
  EXPECT_EQ(cppbx::log::parse_level("Warning"), spdlog::level::warn);
  EXPECT_EQ(cppbx::log::parse_level("error"), spdlog::level::err);
  EXPECT_EQ(cppbx::log::parse_level("off"), spdlog::level::off);
  EXPECT_FALSE(cppbx::log::parse_level("loud").has_value());
  EXPECT_FALSE(cppbx::log::parse_level("").has_value());
}

TEST_F(LoggingTest, WritesToFileAndFiltersBelowLevel) {
  fs::path file = dir_ / "a.log";
  std::string error;
  ASSERT_TRUE(cppbx::log::init("warn", file.string(), &error)) << error;
  EXPECT_EQ(cppbx::log::current_file(), file.string());
  spdlog::info("quiet-info-line");
  spdlog::warn("loud-warn-line {}", 42);
  spdlog::default_logger()->flush();
  std::string content = read_all(file);
  EXPECT_NE(content.find("loud-warn-line 42"), std::string::npos);
  EXPECT_EQ(content.find("quiet-info-line"), std::string::npos);
}

TEST_F(LoggingTest, ReinitMovesOutputToTheNewFile) {
  fs::path first = dir_ / "first.log";
  fs::path second = dir_ / "second.log";
  ASSERT_TRUE(cppbx::log::init("debug", first.string()));
  spdlog::debug("before-switch");
  ASSERT_TRUE(cppbx::log::init("debug", second.string()));
  spdlog::debug("after-switch");
  spdlog::default_logger()->flush();
  EXPECT_NE(read_all(first).find("before-switch"), std::string::npos);
  EXPECT_EQ(read_all(first).find("after-switch"), std::string::npos);
  EXPECT_NE(read_all(second).find("after-switch"), std::string::npos);
}

TEST_F(LoggingTest, ReopenRecreatesARotatedFile) {
  fs::path file = dir_ / "rotated.log";
  ASSERT_TRUE(cppbx::log::init("info", file.string()));
  spdlog::info("old-line");
  spdlog::default_logger()->flush();
  fs::rename(file, dir_ / "rotated.log.1");
  ASSERT_TRUE(cppbx::log::reopen());
  spdlog::info("new-line");
  spdlog::default_logger()->flush();
  ASSERT_TRUE(fs::exists(file));
  EXPECT_NE(read_all(file).find("new-line"), std::string::npos);
  EXPECT_EQ(read_all(file).find("old-line"), std::string::npos);
}

size_t count_occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

TEST_F(LoggingTest, ReinitWhileOtherThreadsLogLosesNoLine) {
  fs::path even = dir_ / "even.log";
  fs::path odd = dir_ / "odd.log";
  ASSERT_TRUE(cppbx::log::init("info", even.string()));
  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 2000;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) spdlog::info("concurrent-line {} {}", t, i);
    });
  }
  for (int switches = 0; switches < 100; ++switches) {
    ASSERT_TRUE(cppbx::log::init("info", (switches % 2 ? odd : even).string()));
  }
  for (auto& writer : writers) writer.join();
  spdlog::default_logger()->flush();
  ASSERT_TRUE(cppbx::log::init("info", ""));  // closes both files
  size_t total = count_occurrences(read_all(even), "concurrent-line") +
                 count_occurrences(read_all(odd), "concurrent-line");
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kLinesPerThread));
}

TEST_F(LoggingTest, UnknownLevelIsRejectedAndChangesNothing) {
  fs::path file = dir_ / "keep.log";
  ASSERT_TRUE(cppbx::log::init("info", file.string()));
  std::string error;
  EXPECT_FALSE(cppbx::log::init("loud", "", &error));
  EXPECT_NE(error.find("loud"), std::string::npos);
  EXPECT_EQ(cppbx::log::current_file(), file.string());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

TEST_F(LoggingTest, UnopenableFileFallsBackToStderrWithAnError) {
  std::string error;
  fs::path impossible = dir_ / "missing-dir" / "x.log";
  // basic_file_sink creates parent folders, so make the parent a plain file.
  std::ofstream(dir_ / "missing-dir") << "not a folder";
  EXPECT_FALSE(cppbx::log::init("info", impossible.string(), &error));
  EXPECT_NE(error.find("x.log"), std::string::npos);
  EXPECT_EQ(cppbx::log::current_file(), "");
}

}  // namespace
