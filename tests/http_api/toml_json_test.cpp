// TOML <-> JSON for backend and locator entries: kinds survive a round trip
// (integers stay integers), nulls are dropped, non-objects are refused.
#include <gtest/gtest.h>

#include "http_api/toml_json.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

TEST(TomlJsonTest, RoundTripKeepsKinds) {
  json entry = {{"type", "http"},
                {"url", "http://x/verify"},
                {"timeout_ms", 1500},
                {"ratio", 0.5},
                {"enabled", true},
                {"headers", {{"Authorization", "Bearer x"}}},
                {"users", json::array({{{"username", "1001"}, {"password", "p"}}})},
                {"realms", json::array({"a", "b"})}};
  std::string error;
  auto table = json_to_toml(entry, error);
  ASSERT_TRUE(table) << error;
  EXPECT_EQ((*table)["timeout_ms"].value_exact<int64_t>(), 1500);
  EXPECT_EQ((*table)["ratio"].value_exact<double>(), 0.5);
  EXPECT_EQ((*table)["users"][0]["username"].value<std::string>(), "1001");
  EXPECT_EQ(toml_to_json(*table), entry);
}

TEST(TomlJsonTest, NullsAreLeftOutAndNonObjectsRefused) {
  std::string error;
  auto table = json_to_toml(json{{"type", "memory"}, {"realm", nullptr}}, error);
  ASSERT_TRUE(table);
  EXPECT_FALSE(table->contains("realm"));
  EXPECT_FALSE(json_to_toml(json::array({1, 2}), error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(json_to_toml(json{{"n", 18446744073709551615ull}}, error)) << "beyond int64";
}

TEST(TomlJsonTest, ConfiguredTableFromTomlText) {
  toml::table parsed = toml::parse("type = \"plain\"\npath = \"users.txt\"\nwatch = 2\n");
  json shown = toml_to_json(parsed);
  EXPECT_EQ(shown, (json{{"type", "plain"}, {"path", "users.txt"}, {"watch", 2}}));
}

}  // namespace
}  // namespace cppbx::http_api
