// Masking: database and redis URLs keep all but the password, secret-looking
// headers and fields are masked, column names and key prefixes are not, and
// a masked value comes back as the configured secret only for the same url.
#include <gtest/gtest.h>

#include "http_api/masking.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

TEST(MaskUrlTest, OnlyThePasswordIsMasked) {
  EXPECT_EQ(mask_url("postgres://u:p%40ss@db.example:5432/pbx"), "postgres://u:********@db.example:5432/pbx");
  EXPECT_EQ(mask_url("mysql://root:x@[::1]/pbx?x=1"), "mysql://root:********@[::1]/pbx?x=1");
  EXPECT_EQ(mask_url("redis://:pw@127.0.0.1:6379/0"), "redis://:********@127.0.0.1:6379/0");
  EXPECT_EQ(mask_url("postgres://user@host/db"), "postgres://user@host/db");
  EXPECT_EQ(mask_url("sqlite:///var/lib/cppbx.db"), "sqlite:///var/lib/cppbx.db");
  EXPECT_EQ(mask_url("http://h/path@x:y"), "http://h/path@x:y") << "an @ in the path is not user info";
  EXPECT_EQ(mask_url("postgres://u:p#ss@db/x"), "postgres://u:********@db/x")
      << "a raw # belongs to the password, as the database URL parser reads it";
}

TEST(SecretNamesTest, HeadersAndFields) {
  for (const char* name : {"Authorization", "X-Api-Key", "x-auth-token", "Client-Secret", "Proxy-Authorization",
                           "Cookie", "X-Signing-Key"}) {
    EXPECT_TRUE(is_secret_header(name)) << name;
  }
  for (const char* name : {"X-Trace", "Content-Type", "Accept"}) EXPECT_FALSE(is_secret_header(name)) << name;
  for (const char* name : {"password", "secret", "token", "api_key", "cluster_secret", "db_password"}) {
    EXPECT_TRUE(is_secret_field(name)) << name;
  }
  for (const char* name : {"password_column", "key_prefix", "username", "table"}) {
    EXPECT_FALSE(is_secret_field(name)) << name;
  }
}

TEST(MaskedTest, MasksEverySecretOfABackendEntry) {
  json backend = {{"type", "http"},
                  {"url", "https://svc.example/verify"},
                  {"database_url", "postgres://u:dbpass@h/db"},
                  {"headers", {{"Authorization", "Bearer T0P"}, {"X-Trace", "t1"}, {"X-Empty-Key", ""}}},
                  {"users", json::array({{{"username", "1001"}, {"password", "pw"}}})},
                  {"password_column", "sip_password"}};
  json shown = masked(backend);
  EXPECT_EQ(shown["url"], "https://svc.example/verify");
  EXPECT_EQ(shown["database_url"], "postgres://u:********@h/db");
  EXPECT_EQ(shown["headers"]["Authorization"], "********");
  EXPECT_EQ(shown["headers"]["X-Trace"], "t1");
  EXPECT_EQ(shown["headers"]["X-Empty-Key"], "") << "empty stays empty: not set";
  EXPECT_EQ(shown["users"][0]["password"], "********");
  EXPECT_EQ(shown["users"][0]["username"], "1001");
  EXPECT_EQ(shown["password_column"], "sip_password");
  const std::string text = shown.dump();
  for (const char* secret : {"T0P", "dbpass", "\"pw\""}) EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  EXPECT_TRUE(contains_mask(shown));
  EXPECT_FALSE(contains_mask(backend));
}

TEST(RestoreTest, MaskedValuesComeBackFromTheSameDestination) {
  json configured = {{"type", "http"},
                     {"url", "https://svc.example/verify"},
                     {"headers", {{"Authorization", "Bearer T0P"}}}};
  json submitted = masked(configured);
  ASSERT_TRUE(restore_masked(submitted, {json{{"type", "memory"}}, configured}));
  EXPECT_EQ(submitted, configured);
}

TEST(RestoreTest, ANewDestinationDoesNotGetTheSecret) {
  json configured = {{"url", "https://svc.example/verify"}, {"headers", {{"Authorization", "Bearer T0P"}}}};
  json submitted = masked(configured);
  submitted["url"] = "https://elsewhere.example/steal";
  EXPECT_FALSE(restore_masked(submitted, {configured}));
  EXPECT_EQ(submitted["headers"]["Authorization"], "********");
}

TEST(RestoreTest, DatabaseUrlPasswordOnlyForTheSameHostAndUser) {
  json configured = {{"type", "database"}, {"url", "postgres://u:dbpass@h:5432/db"}};
  json same = masked(configured);
  ASSERT_TRUE(restore_masked(same, {configured}));
  EXPECT_EQ(same["url"], "postgres://u:dbpass@h:5432/db");
  json moved = {{"type", "database"}, {"url", "postgres://u:********@evil:5432/db"}};
  EXPECT_FALSE(restore_masked(moved, {configured}));
  EXPECT_EQ(moved["url"], "postgres://u:********@evil:5432/db");
}

TEST(RestoreTest, ChangedValuesAreKeptAndUnmaskedOnesUntouched) {
  json configured = {{"users", json::array({{{"username", "1001"}, {"password", "old"}}})}};
  json submitted = {{"users", json::array({{{"username", "1001"}, {"password", "new"}},
                                           {{"username", "1002"}, {"password", "********"}}})}};
  EXPECT_FALSE(restore_masked(submitted, {configured})) << "the second user has no configured password";
  EXPECT_EQ(submitted["users"][0]["password"], "new");
}

json memory_backend(std::vector<std::pair<std::string, std::string>> users) {
  json list = json::array();
  for (const auto& [name, password] : users) list.push_back({{"username", name}, {"password", password}});
  return {{"type", "memory"}, {"users", list}};
}

TEST(RestoreTest, AUserKeepsItsOwnPasswordWhenAnotherIsDeletedOrTheyMove) {
  json configured = memory_backend({{"alice", "pwA"}, {"bob", "pwB"}});
  json deleted = memory_backend({{"bob", "********"}});
  ASSERT_TRUE(restore_masked(deleted, {configured}));
  EXPECT_EQ(deleted["users"][0]["password"], "pwB") << "bob must not get alice's password";

  json swapped = memory_backend({{"bob", "********"}, {"alice", "********"}});
  ASSERT_TRUE(restore_masked(swapped, {configured}));
  EXPECT_EQ(swapped["users"][0]["password"], "pwB");
  EXPECT_EQ(swapped["users"][1]["password"], "pwA");

  json renamed = memory_backend({{"carol", "********"}, {"bob", "********"}});
  EXPECT_FALSE(restore_masked(renamed, {configured})) << "a user renamed in place has no password to keep";
  EXPECT_EQ(renamed["users"][0]["password"], "********");
}

TEST(RestoreTest, TheSameNameInAnotherRealmIsAnotherUser) {
  json configured = {{"type", "memory"},
                     {"users", json::array({{{"username", "1001"}, {"realm", "a.example"}, {"password", "pwA"}},
                                            {{"username", "1001"}, {"realm", "b.example"}, {"password", "pwB"}}})}};
  json submitted = masked(configured);
  std::swap(submitted["users"][0], submitted["users"][1]);
  ASSERT_TRUE(restore_masked(submitted, {configured}));
  EXPECT_EQ(submitted["users"][0]["password"], "pwB");
  EXPECT_EQ(submitted["users"][1]["password"], "pwA");
}

TEST(RestoreTest, ListElementsWithoutANameKeepTheirSecretOnlyWhereNothingElseChanged) {
  json configured = {{"tokens", json::array({{{"label", "x"}, {"token", "T1"}}, {{"label", "y"}, {"token", "T2"}}})}};
  json same = masked(configured);
  ASSERT_TRUE(restore_masked(same, {configured}));
  EXPECT_EQ(same, configured);
  json first_removed = {{"tokens", json::array({{{"label", "y"}, {"token", "********"}}})}};
  EXPECT_FALSE(restore_masked(first_removed, {configured})) << "y at position 0 must not get x's token";
}

}  // namespace
}  // namespace cppbx::http_api
