// Bad files: each kind of mistake must name file, line, column and key, all
// mistakes of one file must be reported together, and warnings must be
// emitted for unknown and not-yet-supported keys (the latter only once).
#include "config_test_support.hpp"

namespace cppbx::config::testing {
namespace {

struct BadValueCase {
  const char* name;
  const char* toml;
  const char* key;
  uint32_t line;
  uint32_t column;
  const char* message_part;
};

class BadValue : public ConfigFileTest, public ::testing::WithParamInterface<BadValueCase> {};

TEST_P(BadValue, IsOneErrorWithPositionAndKey) {
  const BadValueCase& c = GetParam();
  load(c.toml);
  auto found = errors();
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].key, c.key);
  EXPECT_EQ(found[0].where.file, path_);
  EXPECT_EQ(found[0].where.line, c.line);
  EXPECT_EQ(found[0].where.column, c.column);
  EXPECT_NE(found[0].message.find(c.message_part), std::string::npos) << found[0].message;
  std::string expected_prefix = path_ + ":" + std::to_string(c.line) + ":" +
                                std::to_string(c.column) + ": error: " + c.key + ": ";
  EXPECT_EQ(found[0].to_string().rfind(expected_prefix, 0), 0u) << found[0].to_string();
}

const BadValueCase kBadValues[] = {
    {"PortNotANumber", "[proxy]\nudp_port = \"abc\"\n", "proxy.udp_port", 2, 12,
     "expected integer, got string"},
    {"PortTooLarge", "[proxy]\nudp_port = 70000\n", "proxy.udp_port", 2, 12, "out of range"},
    {"PortZero", "[proxy]\ntcp_port = 0\n", "proxy.tcp_port", 2, 12, "out of range"},
    {"LogLevelUnknown", "log_level = \"loud\"\n", "log_level", 1, 13, "unknown log level 'loud'"},
    {"NegativeExpires", "[proxy]\nregistrar_expires = -5\n", "proxy.registrar_expires", 2, 21,
     "out of range"},
    {"FloatForInteger", "[proxy]\nmax_concurrency = 1.5\n", "proxy.max_concurrency", 2, 19,
     "expected integer, got float"},
    {"UnknownModule", "[proxy]\nmodules = [\"acl\", \"bogus\"]\n", "proxy.modules[1]", 2, 19,
     "unknown module 'bogus'"},
    {"ModulesNotAnArray", "[proxy]\nmodules = \"acl\"\n", "proxy.modules", 2, 11,
     "expected array, got string"},
    {"RegistrarBeforeAuth", "[proxy]\nmodules = [\"registrar\", \"auth\"]\n", "proxy.modules", 2, 11,
     "the registrar needs the auth module before it"},
    {"RegistrarWithoutAuth", "[proxy]\nmodules = [\"acl\", \"registrar\"]\n", "proxy.modules", 2, 11,
     "the registrar needs the auth module before it"},
    {"CallBeforeAuth", "[proxy]\nmodules = [\"call\", \"auth\"]\n", "proxy.modules", 2, 11,
     "the call module needs the auth module before it"},
    {"SessionExpiresTooShort", "[proxy]\nsession_expires = 30\n", "proxy.session_expires", 2, 19,
     "out of range"},
    {"BackendWithoutType", "[[proxy.user_backends]]\npath = \"users.txt\"\n",
     "proxy.user_backends[0]", 1, 1, "missing required key 'type'"},
    {"BackendTypeUnknown", "[[proxy.user_backends]]\ntype = \"ldap\"\n",
     "proxy.user_backends[0].type", 2, 8, "unknown user backend type 'ldap'"},
    {"BackendsNotAnArray", "[proxy.user_backends]\ntype = \"memory\"\n", "proxy.user_backends",
     1, 1, "expected array of tables"},
    {"UsersNotAnArray",
     "[[proxy.user_backends]]\ntype = \"memory\"\nusers = \"bob\"\n",
     "proxy.user_backends[0].users", 3, 9, "expected array of tables"},
    {"UserNotATable",
     "[[proxy.user_backends]]\ntype = \"memory\"\nusers = [\"bob\"]\n",
     "proxy.user_backends[0].users[0]", 3, 10, "expected table"},
    {"LocatorTypeUnknown", "[proxy.locator]\ntype = \"etcd\"\n", "proxy.locator.type", 2, 8,
     "unknown locator type 'etcd'"},
    {"LocatorNotATable", "[proxy]\nlocator = \"memory\"\n", "proxy.locator", 2, 11,
     "expected table, got string"},
    {"MaxBindingsZero", "[proxy.locator]\nmax_bindings_per_aor = 0\n",
     "proxy.locator.max_bindings_per_aor", 2, 24, "out of range"},
    {"ListenAddrNotIp", "[proxy]\naddr = \"localhost\"\n", "proxy.addr", 2, 8,
     "not an IPv4 or IPv6 address"},
    {"ExternalIpNotIp", "external_ip = \"1.2.3\"\n", "external_ip", 1, 15,
     "not an IPv4 or IPv6 address"},
    {"HttpAddrWithoutPort", "http_addr = \"0.0.0.0\"\n", "http_addr", 1, 13, "not host:port"},
    {"DatabaseUrlUnknownScheme", "database_url = \"oracle://root@db/pbx\"\n", "database_url", 1, 16,
     "unsupported database url"},
    {"DatabaseUrlWithoutFile", "database_url = \"sqlite://\"\n", "database_url", 1, 16,
     "names no file"},
    {"DatabaseSchemeUnknown", "database_url = \"oracle://x\"\n", "database_url", 1, 16,
     "unsupported database url"},
    {"DigestAlgorithmUnknown", "[proxy]\nauth_algorithms = [\"SHA-1\"]\n",
     "proxy.auth_algorithms[0]", 2, 20, "unknown digest algorithm 'SHA-1'"},
    {"NoDigestAlgorithm", "[proxy]\nauth_algorithms = []\n", "proxy.auth_algorithms", 2, 19,
     "at least one"},
    {"EmptyRealm", "[proxy]\nrealms = [\"a.example\", \"\"]\n", "proxy.realms[1]", 2, 24,
     "cannot be empty"},
    {"RealmNotString", "[proxy]\nrealms = [\"a.example\", 3]\n", "proxy.realms[1]", 2, 24,
     "expected string, got integer"},
    {"EnsureUserNotBool", "[proxy]\nensure_user = \"yes\"\n", "proxy.ensure_user", 2, 15,
     "expected boolean"},
    {"MessageSizeTooSmall", "[proxy]\nmax_message_size = 100\n", "proxy.max_message_size", 2,
     20, "out of range"},
    {"WebhookWithoutUrl", "[proxy.locator_webhook]\ntimeout_ms = 10\n", "proxy.locator_webhook",
     1, 1, "missing required key 'url'"},
    {"WebhookEventUnknown",
     "[proxy.locator_webhook]\nurl = \"http://x/\"\nevents = [\"registered\", \"moved\"]\n",
     "proxy.locator_webhook.events[1]", 3, 25, "unknown event 'moved'"},
    {"WebhookUrlNotHttp", "[proxy.locator_webhook]\nurl = \"ftp://x/\"\n",
     "proxy.locator_webhook.url", 2, 7, "expected an http:// or https:// url"},
    {"ProxyNotATable", "proxy = 5\n", "proxy", 1, 9, "expected table, got integer"},
};

INSTANTIATE_TEST_SUITE_P(Config, BadValue, ::testing::ValuesIn(kBadValues),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(ConfigFileTest, SeveralErrorsAreAllReported) {
  load(R"(log_level = "loud"
[proxy]
udp_port = "abc"
tcp_port = 70000
modules = ["bogus", "auth", "nope"]

[[proxy.user_backends]]
password = "x"

[proxy.locator]
type = "etcd"
)");
  std::vector<std::string> keys;
  for (const auto& e : errors()) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"log_level", "proxy.udp_port", "proxy.tcp_port",
                                            "proxy.modules[0]", "proxy.modules[2]",
                                            "proxy.user_backends[0]", "proxy.locator.type"}))
      << all_text();
  EXPECT_TRUE(diagnostics_.has_errors());
}

TEST_F(ConfigFileTest, ErrorsDoNotEchoUrlsThatMayHoldPasswords) {
  load("database_url = \"mysql://root:hunter2@db:notaport/pbx\"\n"
       "[proxy.locator_webhook]\nurl = \"ftp://user:hunter2@x/\"\n");
  ASSERT_EQ(errors().size(), 2u) << all_text();
  EXPECT_EQ(all_text().find("hunter2"), std::string::npos) << all_text();
}

TEST_F(ConfigFileTest, ValidValuesSurviveNextToErrors) {
  Config c = load("[proxy]\nudp_port = \"abc\"\ntcp_port = 5070\n");
  EXPECT_EQ(errors().size(), 1u);
  EXPECT_EQ(c.proxy.udp_port, 5060);  // default kept
  EXPECT_EQ(c.proxy.tcp_port, 5070);
}

TEST_F(ConfigFileTest, RegistrarMinAboveMaxIsAnError) {
  load("[proxy]\nregistrar_min_expires = 600\nregistrar_max_expires = 300\n");
  auto found = errors();
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].key, "proxy.registrar_min_expires");
  EXPECT_EQ(found[0].where.line, 2u);
}

TEST_F(ConfigFileTest, DefaultExpiresOutsideTheLimitsIsAWarning) {
  load("[proxy]\nregistrar_expires = 30\n");
  EXPECT_TRUE(errors().empty()) << all_text();
  auto found = about("proxy.registrar_expires");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Diagnostic::Severity::Warning);
}

TEST_F(ConfigFileTest, UnknownKeysAreOneWarningEachWithTheirPosition) {
  Config c = load("colour = \"blue\"\n[proxy]\nudp_prot = 5070\n[proxy.locator]\nttl = 5\n");
  EXPECT_TRUE(errors().empty()) << all_text();
  auto found = warnings();
  ASSERT_EQ(found.size(), 3u) << all_text();
  EXPECT_EQ(found[0].key, "colour");
  EXPECT_EQ(found[0].where.line, 1u);
  EXPECT_EQ(found[0].where.column, 1u);
  EXPECT_EQ(found[1].key, "proxy.udp_prot");
  EXPECT_EQ(found[1].where.line, 3u);
  EXPECT_EQ(found[2].key, "proxy.locator.ttl");
  for (const auto& w : found) EXPECT_NE(w.message.find("unknown key"), std::string::npos);
  EXPECT_EQ(c.proxy.udp_port, 5060);
}

TEST_F(ConfigFileTest, NotYetSupportedSectionIsWarnedOnceNotPerSubKey) {
  load(R"(
rtp_start_port = 20000
[console]
base_path = "/console"
allow_registration = false

[[ice_servers]]
urls = ["stun:a"]
[[ice_servers]]
urls = ["turn:b"]

[[proxy.routes]]
name = "one"
[proxy.routes.match]
"to.user" = "^1"
[[proxy.routes]]
name = "two"

[proxy.trunks.a]
dest = "sip:a"
[proxy.trunks.b]
dest = "sip:b"
)");
  EXPECT_TRUE(errors().empty()) << all_text();
  auto found = warnings();
  ASSERT_EQ(found.size(), 5u) << all_text();
  for (const char* key : {"rtp_start_port", "console.allow_registration", "ice_servers", "proxy.routes",
                          "proxy.trunks"}) {
    auto about_key = about(key);
    ASSERT_EQ(about_key.size(), 1u) << key << "\n" << all_text();
    EXPECT_NE(about_key[0].message.find("not yet supported"), std::string::npos);
  }
}

TEST_F(ConfigFileTest, TomlSyntaxErrorHasPosition) {
  load("log_level = \"info\"\n[proxy\nudp_port = 5060\n");
  auto found = errors();
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].where.file, path_);
  EXPECT_EQ(found[0].where.line, 2u);
  EXPECT_GT(found[0].where.column, 0u);
  EXPECT_EQ(found[0].to_string().rfind(path_ + ":2:", 0), 0u) << found[0].to_string();
}

TEST_F(ConfigFileTest, DuplicateKeyIsASyntaxError) {
  load("[proxy]\nudp_port = 1\nudp_port = 2\n");
  auto found = errors();
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].where.line, 3u);
}

TEST_F(ConfigFileTest, MissingFileIsAnError) {
  Config c = load_file((dir_ / "absent.toml").string(), diagnostics_);
  ASSERT_EQ(errors().size(), 1u);
  EXPECT_NE(errors()[0].to_string().find("absent.toml: error: cannot open"), std::string::npos)
      << errors()[0].to_string();
}

TEST_F(ConfigFileTest, BinaryGarbageDoesNotCrash) {
  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage.push_back(static_cast<char>((i * 37) % 256));
  load(garbage);
  EXPECT_TRUE(diagnostics_.has_errors());
}

TEST(DiagnosticText, FormatsLikeACompiler) {
  Diagnostic error{Diagnostic::Severity::Error, {"a.toml", 3, 7}, "proxy.udp_port", "bad"};
  EXPECT_EQ(error.to_string(), "a.toml:3:7: error: proxy.udp_port: bad");
  Diagnostic warning{Diagnostic::Severity::Warning, {"a.toml", 1, 1}, "x", "hm"};
  EXPECT_EQ(warning.to_string(), "a.toml:1:1: warning: x: hm");
  Diagnostic no_key{Diagnostic::Severity::Error, {"a.toml", 0, 0}, "", "cannot open"};
  EXPECT_EQ(no_key.to_string(), "a.toml: error: cannot open");
}

}  // namespace
}  // namespace cppbx::config::testing
