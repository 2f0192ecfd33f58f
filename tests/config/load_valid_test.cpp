// Loading files that are correct: every implemented key lands in the right
// field, RustPBX's own example loads, and user tables keep their shape.
#include <cctype>

#include "config_test_support.hpp"

namespace cppbx::config::testing {
namespace {

constexpr const char* kFullFile = R"(
http_addr = "127.0.0.1:9090"
log_level = "DEBUG"
log_file = "/tmp/cppbx-test.log"
database_url = "sqlite::memory:"
external_ip = "203.0.113.7"

[proxy]
addr = "127.0.0.1"
udp_port = 15060
tcp_port = 15061
ws_handler = "/sip"
realms = ["example.com", "pbx.example.org"]
useragent = "cppbx-test"
callid_suffix = "example.com"
registrar_expires = 300
registrar_min_expires = 30
registrar_max_expires = 3600
max_concurrency = 100
ua_black_list = ["friendly-scanner"]
ua_white_list = ["Zoiper"]
ensure_user = true
modules = ["auth", "registrar"]
acl_rules = ["allow 10.0.0.0/8", "deny all"]
generated_dir = "./gen"
auth_algorithms = ["md5", "sha-256"]
nonce_lifetime_seconds = 120
io_threads = 2
tcp_idle_timeout_seconds = 90
max_message_size = 8192

[proxy.locator]
type = "memory"
max_bindings_per_aor = 3
sweep_interval_seconds = 2

[[proxy.user_backends]]
type = "plain"
path = "users.txt"
)";

TEST_F(ConfigFileTest, FullFileFillsEveryField) {
  Config c = load(kFullFile);
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.source_file, path_);
  EXPECT_EQ(c.http_addr, "127.0.0.1:9090");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_file, "/tmp/cppbx-test.log");
  EXPECT_EQ(c.database_url, "sqlite::memory:");
  EXPECT_EQ(c.external_ip, "203.0.113.7");
  const ProxyConfig& p = c.proxy;
  EXPECT_EQ(p.addr, "127.0.0.1");
  EXPECT_EQ(p.udp_port, 15060);
  EXPECT_EQ(p.tcp_port, 15061);
  EXPECT_FALSE(p.tls_port.has_value());
  EXPECT_EQ(p.ws_handler, "/sip");
  EXPECT_EQ(p.realms, (std::vector<std::string>{"example.com", "pbx.example.org"}));
  EXPECT_EQ(p.useragent, "cppbx-test");
  EXPECT_EQ(p.callid_suffix, "example.com");
  EXPECT_EQ(p.registrar_expires, 300u);
  EXPECT_EQ(p.registrar_min_expires, 30u);
  EXPECT_EQ(p.registrar_max_expires, 3600u);
  EXPECT_EQ(p.max_concurrency, 100u);
  EXPECT_EQ(p.ua_black_list, std::vector<std::string>{"friendly-scanner"});
  EXPECT_EQ(p.ua_white_list, std::vector<std::string>{"Zoiper"});
  EXPECT_TRUE(p.ensure_user);
  EXPECT_EQ(p.modules, (std::vector<std::string>{"auth", "registrar"}));
  EXPECT_EQ(p.acl_rules, (std::vector<std::string>{"allow 10.0.0.0/8", "deny all"}));
  EXPECT_EQ(p.generated_dir, "./gen");
  EXPECT_EQ(p.auth_algorithms, (std::vector<std::string>{"MD5", "SHA-256"}));
  EXPECT_EQ(p.nonce_lifetime_seconds, 120u);
  EXPECT_EQ(p.io_threads, 2u);
  EXPECT_EQ(p.tcp_idle_timeout_seconds, 90u);
  EXPECT_EQ(p.max_message_size, 8192u);
  EXPECT_EQ(p.locator.type, "memory");
  EXPECT_EQ(p.locator.max_bindings_per_aor, 3u);
  EXPECT_EQ(p.locator.sweep_interval_seconds, 2u);
  ASSERT_EQ(p.user_backends.size(), 1u);
  EXPECT_EQ(p.user_backends[0].type, "plain");
  EXPECT_EQ(p.user_backends[0].key_path, "proxy.user_backends[0]");
  EXPECT_EQ(p.user_backends[0].table["path"].value_or(std::string()), "users.txt");
  EXPECT_EQ(p.user_backends[0].config_dir, dir_.string());
}

TEST_F(ConfigFileTest, EmptyFileKeepsDefaults) {
  Config c = load("");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.udp_port, 5060);
  EXPECT_EQ(c.proxy.modules, (std::vector<std::string>{"acl", "auth", "registrar", "call"}));
  EXPECT_EQ(c.database_url, "sqlite://cppbx.sqlite3");
}

TEST_F(ConfigFileTest, RustPbxExampleLoadsWithWarningsOnly) {
  std::string example = std::string(CPPBX_SHARED_DIR) + "/reference/rustpbx-config.toml.example";
  ASSERT_TRUE(std::filesystem::exists(example)) << example;
  Config c = load_file(example, diagnostics_);
  EXPECT_TRUE(errors().empty()) << all_text();
  EXPECT_FALSE(warnings().empty());
  for (const char* key : {"media_cache_path", "console.allow_registration", "recording", "callrecord",
                          "proxy.media_proxy", "proxy.routes_files", "proxy.trunks_files",
                          "proxy.addons", "proxy.acl_files"}) {
    auto found = about(key);
    ASSERT_EQ(found.size(), 1u) << key << "\n" << all_text();
    EXPECT_NE(found[0].message.find("not yet supported"), std::string::npos);
  }
  EXPECT_TRUE(about("proxy.modules").empty()) << "the call module is built: no warning about it";
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.proxy.udp_port, 15060);
  EXPECT_TRUE(c.proxy.ensure_user);
  EXPECT_EQ(c.proxy.acl_rules, (std::vector<std::string>{"allow all", "deny all"}));
  ASSERT_EQ(c.proxy.user_backends.size(), 2u);
  EXPECT_EQ(c.proxy.user_backends[0].type, "memory");
  EXPECT_EQ(c.proxy.user_backends[1].type, "extension");
  const toml::array* users = c.proxy.user_backends[0].table["users"].as_array();
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->size(), 2u);
}

TEST_F(ConfigFileTest, InlineUsersBecomeAnArrayOfTables) {
  Config c = load(R"(
[[proxy.user_backends]]
type = "memory"
users = [
  { username = "bob", password = "b0b" },
  { username = "alice", password = "al1ce", realm = "example.com" },
]
)");
  ASSERT_TRUE(errors().empty()) << all_text();
  ASSERT_EQ(c.proxy.user_backends.size(), 1u);
  const toml::array* users = c.proxy.user_backends[0].table["users"].as_array();
  ASSERT_NE(users, nullptr);
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[1].as_table()->at("realm").value_or(std::string()), "example.com");
  EXPECT_EQ((*users)[0].as_table()->at("username").value_or(std::string()), "bob");
}

TEST_F(ConfigFileTest, UserSubTablesBecomeAnArrayOfTablesOfTheirEntry) {
  Config c = load(R"(
[[proxy.user_backends]]
type = "memory"

[[proxy.user_backends.users]]
username = "1001"
password = "one"

[[proxy.user_backends.users]]
username = "1002"
password = "two"
display_name = "Two"

[[proxy.user_backends]]
type = "memory"

[[proxy.user_backends.users]]
username = "2001"
password = "other"
)");
  ASSERT_TRUE(errors().empty()) << all_text();
  ASSERT_EQ(c.proxy.user_backends.size(), 2u);
  const toml::array* first = c.proxy.user_backends[0].table["users"].as_array();
  const toml::array* second = c.proxy.user_backends[1].table["users"].as_array();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_EQ(first->size(), 2u);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*first)[1].as_table()->at("display_name").value_or(std::string()), "Two");
  EXPECT_EQ((*second)[0].as_table()->at("username").value_or(std::string()), "2001");
}

TEST_F(ConfigFileTest, BackendTablesKeepTheirSourcePositions) {
  Config c = load("\n\n[[proxy.user_backends]]\ntype = \"plain\"\npath = 7\n");
  ASSERT_EQ(c.proxy.user_backends.size(), 1u);
  const UserBackendConfig& backend = c.proxy.user_backends[0];
  EXPECT_EQ(backend.where.file, path_);
  EXPECT_EQ(backend.where.line, 3u);
  const toml::node* path = backend.table.node("path");
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(path->source().begin.line, 5u);
  EXPECT_EQ(path->source().begin.column, 8u);
}

TEST_F(ConfigFileTest, DefaultOnlyAlgorithmsAndAddressesOfIpv6) {
  Config c = load("[proxy]\naddr = \"::\"\nauth_algorithms = [\"SHA-512-256\"]\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.addr, "::");
  EXPECT_EQ(c.proxy.auth_algorithms, std::vector<std::string>{"SHA-512-256"});
}

TEST_F(ConfigFileTest, LocatorWebhookIsParsedWithoutWarnings) {
  Config c = load(R"(
[proxy.locator_webhook]
url = "http://app.local/sip-events"
events = ["registered", "offline"]
timeout_ms = 1500
headers = { "X-API-Key" = "k", Authorization = "Bearer t" }
max_attempts = 5
queue_size = 200
)");
  EXPECT_TRUE(errors().empty()) << all_text();
  ASSERT_TRUE(c.proxy.locator_webhook.has_value());
  const auto& webhook = *c.proxy.locator_webhook;
  EXPECT_EQ(webhook.url, "http://app.local/sip-events");
  EXPECT_EQ(webhook.events, (std::vector<std::string>{"registered", "offline"}));
  EXPECT_EQ(webhook.timeout_ms, 1500u);
  ASSERT_EQ(webhook.headers.size(), 2u);
  EXPECT_EQ(webhook.max_attempts, 5u);
  EXPECT_EQ(webhook.queue_size, 200u);
  EXPECT_TRUE(about("proxy.locator_webhook").empty()) << all_text();
}

TEST_F(ConfigFileTest, LocatorWebhookDefaultsAndBadDeliveryKeys) {
  Config c = load("[proxy.locator_webhook]\nurl = \"http://app.local/e\"\n");
  EXPECT_TRUE(all_text().empty()) << all_text();
  ASSERT_TRUE(c.proxy.locator_webhook.has_value());
  EXPECT_EQ(c.proxy.locator_webhook->max_attempts, 3u);
  EXPECT_EQ(c.proxy.locator_webhook->queue_size, 10000u);
  EXPECT_EQ(c.proxy.locator_webhook->timeout_ms, 5000u);
  c = load("[proxy.locator_webhook]\nurl = \"http://app.local/e\"\nmax_attempts = 0\nqueue_size = \"big\"\n");
  EXPECT_FALSE(c.proxy.locator_webhook.has_value());
  EXPECT_EQ(about("proxy.locator_webhook.max_attempts").size(), 1u) << all_text();
  EXPECT_EQ(about("proxy.locator_webhook.queue_size").size(), 1u) << all_text();
}

TEST_F(ConfigFileTest, LocatorTypeAndItsOwnKeysAreKeptForTheFactory) {
  Config c = load("[proxy.locator]\ntype = \"redis\"\nurl = \"redis://127.0.0.1\"\n");
  EXPECT_TRUE(errors().empty()) << all_text();
  EXPECT_EQ(c.proxy.locator.type, "redis");
  EXPECT_EQ(c.proxy.locator.table["url"].value_or(std::string()), "redis://127.0.0.1");
  EXPECT_TRUE(about("proxy.locator.url").empty()) << all_text();
}

TEST(EmbeddedDefault, OneMemoryUserWithAFreshRandomPassword) {
  std::string user, password, other_user, other_password;
  Config c = embedded_default(user, password);
  embedded_default(other_user, other_password);
  EXPECT_EQ(user, "1001");
  ASSERT_EQ(password.size(), 16u);
  for (char ch : password) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)));
  EXPECT_NE(password, other_password);
  EXPECT_TRUE(c.source_file.empty());
  EXPECT_EQ(c.proxy.addr, "0.0.0.0");
  EXPECT_EQ(c.proxy.udp_port, 5060);
  EXPECT_EQ(c.proxy.tcp_port, 5060);
  EXPECT_EQ(c.database_url, "sqlite://cppbx.sqlite3");
  EXPECT_EQ(c.proxy.locator.type, "memory");
  ASSERT_EQ(c.proxy.user_backends.size(), 1u);
  const UserBackendConfig& backend = c.proxy.user_backends[0];
  EXPECT_EQ(backend.type, "memory");
  EXPECT_EQ(backend.table["type"].value_or(std::string()), "memory");
  const toml::array* users = backend.table["users"].as_array();
  ASSERT_NE(users, nullptr);
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].as_table()->at("username").value_or(std::string()), "1001");
  EXPECT_EQ((*users)[0].as_table()->at("password").value_or(std::string()), password);
}

}  // namespace
}  // namespace cppbx::config::testing
