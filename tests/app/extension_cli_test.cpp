// `cppbx extension ...` parsed by CLI11 as main() does and run against real
// SQLite files in a temp folder: which database a configuration selects,
// what is printed (a password only when generated), and the exit codes.
#include "app/extension_cli.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/extension_store.hpp"

namespace cppbx::app {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

class ExtensionCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cppbx extcli " + std::to_string(::getpid()) + " " +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    write("cppbx.toml", "database_url = \"sqlite://" + path("main.sqlite3") + "\"\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  // Parses like run_cli() does (top-level --conf, the extension subcommand).
  Outcome run(std::vector<std::string> args, const std::string& stdin_text = "") {
    CLI::App cli;
    std::string conf;
    cli.add_option("-c,--conf", conf);
    ExtensionCli extensions;
    extensions.attach(cli);
    std::vector<std::string> words{"cppbx"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    Outcome outcome;
    try {
      cli.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& error) {
      outcome.code = error.get_exit_code();
      outcome.err = error.what();
      return outcome;
    }
    EXPECT_TRUE(extensions.selected());
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    outcome.code = extensions.run(conf, in, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }

  std::optional<storage::Extension> stored(const std::string& database_file, const std::string& name) {
    std::string error;
    auto database = storage::Database::open("sqlite://" + path(database_file), error);
    if (!database) {
      ADD_FAILURE() << error;
      return std::nullopt;
    }
    storage::ExtensionStore store(*database);
    storage::Extension extension;
    if (!store.find(name, extension).ok()) return std::nullopt;
    return extension;
  }

  fs::path dir_;
};

TEST_F(ExtensionCliTest, AddWithAGivenPasswordNeverPrintsIt) {
  Outcome add = run({"extension", "add", "1001", "--password", "given-secret", "--display-name",
                     "Alice", "--email", "alice@example.com", "--conf", path("cppbx.toml")});
  ASSERT_EQ(add.code, kExtensionOk) << add.err;
  EXPECT_EQ(add.out.find("given-secret"), std::string::npos);
  auto extension = stored("main.sqlite3", "1001");
  ASSERT_TRUE(extension);
  EXPECT_EQ(extension->sip_password, "given-secret");
  EXPECT_EQ(extension->display_name, "Alice");
  EXPECT_EQ(extension->email, "alice@example.com");

  Outcome list = run({"--conf", path("cppbx.toml"), "extension", "list"});
  ASSERT_EQ(list.code, kExtensionOk);
  EXPECT_NE(list.out.find("1001"), std::string::npos);
  EXPECT_NE(list.out.find("Alice"), std::string::npos);
  EXPECT_EQ(list.out.find("given-secret"), std::string::npos);
}

TEST_F(ExtensionCliTest, GeneratedPasswordIsPrintedOnceAndStored) {
  Outcome add = run({"extension", "add", "1001", "--conf", path("cppbx.toml")});
  ASSERT_EQ(add.code, kExtensionOk) << add.err;
  auto extension = stored("main.sqlite3", "1001");
  ASSERT_TRUE(extension);
  EXPECT_EQ(extension->sip_password.size(), 16u);
  size_t first = add.out.find(extension->sip_password);
  EXPECT_NE(first, std::string::npos) << add.out;
  EXPECT_EQ(add.out.find(extension->sip_password, first + 1), std::string::npos);

  Outcome passwd = run({"extension", "passwd", "1001", "--conf", path("cppbx.toml")});
  ASSERT_EQ(passwd.code, kExtensionOk) << passwd.err;
  auto changed = stored("main.sqlite3", "1001");
  ASSERT_TRUE(changed);
  EXPECT_NE(changed->sip_password, extension->sip_password);
  EXPECT_NE(passwd.out.find(changed->sip_password), std::string::npos);
}

TEST_F(ExtensionCliTest, PasswordFromStdinIsStoredAndNotPrinted) {
  ASSERT_EQ(run({"extension", "add", "1001", "--password", "first", "--conf", path("cppbx.toml")}).code,
            kExtensionOk);
  Outcome passwd = run({"extension", "passwd", "1001", "--password-stdin", "--conf", path("cppbx.toml")},
                       "from-stdin\r\nignored second line\n");
  ASSERT_EQ(passwd.code, kExtensionOk) << passwd.err;
  EXPECT_EQ(passwd.out.find("from-stdin"), std::string::npos);
  EXPECT_EQ(stored("main.sqlite3", "1001")->sip_password, "from-stdin");
  // An empty line is no password.
  Outcome empty = run({"extension", "passwd", "1001", "--password-stdin", "--conf", path("cppbx.toml")}, "\n");
  EXPECT_EQ(empty.code, kExtensionInvalid);
  EXPECT_EQ(stored("main.sqlite3", "1001")->sip_password, "from-stdin");
}

TEST_F(ExtensionCliTest, ExitCodesTellTheCasesApart) {
  const std::string conf = path("cppbx.toml");
  ASSERT_EQ(run({"extension", "add", "1001", "--password", "pw", "--conf", conf}).code, kExtensionOk);

  Outcome duplicate = run({"extension", "add", "1001", "--password", "other", "--conf", conf});
  EXPECT_EQ(duplicate.code, kExtensionExists);
  EXPECT_NE(duplicate.err.find("already exists"), std::string::npos);

  Outcome invalid = run({"extension", "add", "10;01", "--password", "pw", "--conf", conf});
  EXPECT_EQ(invalid.code, kExtensionInvalid);
  EXPECT_NE(invalid.err.find("extension may only hold"), std::string::npos);

  for (const char* action : {"remove", "enable", "disable"}) {
    Outcome unknown = run({"extension", action, "2002", "--conf", conf});
    EXPECT_EQ(unknown.code, kExtensionNotFound) << action;
    EXPECT_NE(unknown.err.find("unknown extension 2002"), std::string::npos) << unknown.err;
  }

  write("broken.toml", "log_level = 5\n");
  Outcome broken = run({"extension", "list", "--conf", path("broken.toml")});
  EXPECT_EQ(broken.code, kExtensionDatabaseError);
  EXPECT_NE(broken.err.find("log_level"), std::string::npos);

  write("nowhere.toml", "database_url = \"sqlite://" + path("no such folder/x.sqlite3") + "\"\n");
  EXPECT_EQ(run({"extension", "list", "--conf", path("nowhere.toml")}).code, kExtensionDatabaseError);

  EXPECT_NE(run({"extension"}).code, kExtensionOk);  // an action is required
  EXPECT_NE(run({"extension", "add", "1003", "--password", "a", "--password-stdin"}).code, kExtensionOk);
}

TEST_F(ExtensionCliTest, DisableAndEnableFlipLoginDisabled) {
  const std::string conf = path("cppbx.toml");
  ASSERT_EQ(run({"extension", "add", "1001", "--password", "pw", "--conf", conf}).code, kExtensionOk);
  ASSERT_EQ(run({"extension", "disable", "1001", "--conf", conf}).code, kExtensionOk);
  EXPECT_TRUE(stored("main.sqlite3", "1001")->login_disabled);
  EXPECT_NE(run({"extension", "list", "--conf", conf}).out.find("disabled"), std::string::npos);
  ASSERT_EQ(run({"extension", "enable", "1001", "--conf", conf}).code, kExtensionOk);
  EXPECT_FALSE(stored("main.sqlite3", "1001")->login_disabled);
  ASSERT_EQ(run({"extension", "remove", "1001", "--conf", conf}).code, kExtensionOk);
  EXPECT_FALSE(stored("main.sqlite3", "1001"));
}

TEST_F(ExtensionCliTest, TheExtensionBackendsOwnDatabaseIsUsed) {
  write("own.toml", "database_url = \"sqlite://" + path("main.sqlite3") +
                        "\"\n[[proxy.user_backends]]\ntype = \"memory\"\nusers = []\n"
                        "[[proxy.user_backends]]\ntype = \"extension\"\ndatabase_url = \"sqlite://" +
                        path("own.sqlite3") + "\"\n");
  ASSERT_EQ(run({"extension", "add", "1001", "--password", "pw", "--conf", path("own.toml")}).code,
            kExtensionOk);
  EXPECT_TRUE(stored("own.sqlite3", "1001"));
  EXPECT_FALSE(stored("main.sqlite3", "1001"));
}

TEST_F(ExtensionCliTest, WithoutConfTheDefaultFileInTheWorkingFolderIsUsed) {
  fs::path before = fs::current_path();
  fs::current_path(dir_);
  Outcome add = run({"extension", "add", "1001", "--password", "pw"});
  fs::current_path(before);
  ASSERT_EQ(add.code, kExtensionOk) << add.err;
  EXPECT_TRUE(stored("cppbx.sqlite3", "1001"));
}

}  // namespace
}  // namespace cppbx::app
