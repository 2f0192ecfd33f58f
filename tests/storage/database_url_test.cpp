// database_url::parse and the SOCI connection strings built from it: every
// URL form of the configuration reference, percent-decoding, and errors that
// never repeat the URL or its password.
#include "common/database_url.hpp"

#include <gtest/gtest.h>

namespace cppbx::database_url {
namespace {

Parsed parse_ok(const std::string& url) {
  std::string error;
  auto parsed = parse(url, error);
  EXPECT_TRUE(parsed.has_value()) << url << ": " << error;
  return parsed.value_or(Parsed{});
}

TEST(DatabaseUrl, ReadsPostgresUrls) {
  for (const char* scheme : {"postgres", "postgresql"}) {
    Parsed parsed = parse_ok(std::string(scheme) + "://pbx:s%40cret%20pw@db.example.com:6543/voip");
    EXPECT_EQ(parsed.kind, Kind::Postgresql);
    EXPECT_EQ(parsed.user, "pbx");
    EXPECT_EQ(parsed.password, "s@cret pw");
    EXPECT_EQ(parsed.host, "db.example.com");
    EXPECT_EQ(parsed.port, 6543);
    EXPECT_EQ(parsed.database, "voip");
  }
}

TEST(DatabaseUrl, DefaultPortsIpv6AndSslmode) {
  Parsed postgres = parse_ok("postgres://u@10.0.0.5/pbx?sslmode=require");
  EXPECT_EQ(postgres.port, 5432);
  EXPECT_EQ(postgres.password, "");
  EXPECT_EQ(postgres.sslmode, "require");
  Parsed mysql = parse_ok("mysql://root:pw@[::1]/pbx");
  EXPECT_EQ(mysql.kind, Kind::Mysql);
  EXPECT_EQ(mysql.host, "::1");
  EXPECT_EQ(mysql.port, 3306);
  Parsed v6_port = parse_ok("mysql://root:pw@[fe80::1]:3307/pbx");
  EXPECT_EQ(v6_port.host, "fe80::1");
  EXPECT_EQ(v6_port.port, 3307);
  // An unescaped '@' in the password: the host follows the last '@'.
  Parsed at_sign = parse_ok("mysql://root:p@ss@localhost/pbx");
  EXPECT_EQ(at_sign.password, "p@ss");
  EXPECT_EQ(at_sign.host, "localhost");
}

TEST(DatabaseUrl, KeepsTheSqliteForms) {
  EXPECT_EQ(parse_ok("sqlite://cppbx.sqlite3").sqlite_path, "cppbx.sqlite3");
  EXPECT_EQ(parse_ok("sqlite:///var/lib/x.db?mode=rwc").sqlite_path, "/var/lib/x.db");
  EXPECT_EQ(parse_ok("sqlite::memory:").sqlite_path, ":memory:");
  EXPECT_EQ(parse_ok("sqlite::memory:").kind, Kind::Sqlite);
}

TEST(DatabaseUrl, RefusesBrokenUrlsWithoutEchoingThem) {
  for (const char* url :
       {"postgres://u:hunter2@db:99999/pbx", "postgres://u:hunter2@db:0/pbx",
        "postgres://u:hunter2@db:x/pbx", "postgres://u:hunter2@/pbx", "postgres://u:hunter2@db",
        "postgres://u:hunter2@db/", "mysql://u:hunter2%zz@db/pbx", "mysql://u:hunter2%4@db/pbx",
        "mysql:u:hunter2@db/pbx", "mysql://u:hunter2@[::1/pbx", "mysql://u:hunter2@db/pbx?ssl=1",
        "postgres://u:hunter2@db/pbx?bogus=hunter2", "oracle://u:hunter2@db/pbx", "hunter2"}) {
    std::string error;
    EXPECT_FALSE(parse(url, error).has_value()) << url;
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << url << " -> " << error;
  }
}

TEST(DatabaseUrl, ConnectStringsCarryEveryPartEscaped) {
  Parsed postgres = parse_ok("postgres://pbx:a%20b'c@127.0.0.1:5433/voip?sslmode=disable");
  std::string text = soci_connect_string(postgres, 3);
  EXPECT_EQ(text.find(' '), std::string::npos) << text;  // SOCI splits at spaces
  EXPECT_NE(text.find("pbx:a%20b%27c@127.0.0.1:5433/voip"), std::string::npos) << text;
  EXPECT_NE(text.find("connect_timeout=3"), std::string::npos) << text;
  EXPECT_NE(text.find("sslmode=disable"), std::string::npos) << text;

  Parsed mysql = parse_ok("mysql://root:it's%20me@db:3307/pbx");
  text = soci_connect_string(mysql, 0);  // clamped to 1 s
  EXPECT_NE(text.find("password='it\\'s me'"), std::string::npos) << text;
  EXPECT_NE(text.find("port=3307"), std::string::npos) << text;
  EXPECT_NE(text.find("db='pbx'"), std::string::npos) << text;
  EXPECT_NE(text.find("connect_timeout=1"), std::string::npos) << text;
}

TEST(DatabaseUrl, SqlitePathRefusesServerUrls) {
  std::string error;
  EXPECT_FALSE(sqlite_path("postgres://u:hunter2@db/pbx", error).has_value());
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  EXPECT_EQ(sqlite_path("sqlite://a.db", error), "a.db");
}

}  // namespace
}  // namespace cppbx::database_url
