// The memory backend built from its TOML entry through the factory: field
// defaults, realm filtering, and the diagnostics for bad entries.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "users/backend_factory.hpp"
#include "users/memory_backend.hpp"

namespace cppbx::users {
namespace {

using config::Diagnostic;
using testing::backend_config;
using testing::has_diagnostic;
using testing::lookup_now;

constexpr const char* kTwoUsers = R"(
type = "memory"
[[users]]
username = "1001"
password = "secret-password"
realm = "example.com"
display_name = "Alice"
[[users]]
username = "1002"
password = "other"
enabled = false
allow_guest_calls = true
)";

TEST(MemoryBackend, FindsUsersWithFieldsAndDefaults) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config(kTwoUsers), diagnostics);
  ASSERT_TRUE(backend) << (diagnostics.all().empty() ? "" : diagnostics.all()[0].to_string());
  EXPECT_TRUE(diagnostics.all().empty());
  EXPECT_EQ(backend->type(), "memory");

  auto alice = lookup_now(*backend, "1001", "EXAMPLE.com:5060");
  ASSERT_TRUE(alice);
  ASSERT_EQ(alice->outcome, LookupOutcome::Found);
  EXPECT_EQ(alice->user.password, "secret-password");
  EXPECT_EQ(alice->user.display_name, "Alice");
  EXPECT_TRUE(alice->user.enabled);
  EXPECT_FALSE(alice->user.allow_guest_calls);

  auto bob = lookup_now(*backend, "1002", "anything.org");
  ASSERT_EQ(bob->outcome, LookupOutcome::Found);
  EXPECT_FALSE(bob->user.enabled);
  EXPECT_TRUE(bob->user.allow_guest_calls);
  EXPECT_TRUE(bob->user.realm.empty());
}

TEST(MemoryBackend, RealmMismatchAndUnknownUserAreNotFound) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config(kTwoUsers), diagnostics);
  ASSERT_TRUE(backend);
  EXPECT_EQ(lookup_now(*backend, "1001", "example.org")->outcome, LookupOutcome::NotFound);
  EXPECT_EQ(lookup_now(*backend, "9999")->outcome, LookupOutcome::NotFound);
}

TEST(MemoryBackend, SameNameInTwoRealms) {
  SipUser a{"u", "pa", {}, "a.example", "", true, false};
  SipUser b{"u", "pb", {}, "b.example", "", true, false};
  MemoryBackend backend({a, b});
  EXPECT_EQ(lookup_now(backend, "u", "b.example")->user.password, "pb");
  EXPECT_EQ(lookup_now(backend, "u", "a.example")->user.password, "pa");
  EXPECT_EQ(backend.user_count(), 2u);
}

TEST(MemoryBackend, InlineUsersArrayAlsoWorks) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(
      backend_config("type = \"memory\"\nusers = [ { username = \"7\", password = \"x\" } ]\n"),
      diagnostics);
  ASSERT_TRUE(backend);
  EXPECT_EQ(lookup_now(*backend, "7")->outcome, LookupOutcome::Found);
}

TEST(MemoryBackendConfig, UnknownFieldIsAWarning) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config(R"(
type = "memory"
colour = "blue"
[[users]]
username = "1"
password = "p"
pasword = "typo"
)"),
                              diagnostics);
  EXPECT_TRUE(backend);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Warning, "proxy.user_backends[0].colour", "unknown"));
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Warning,
                             "proxy.user_backends[0].users[0].pasword", "unknown"));
}

TEST(MemoryBackendConfig, WrongTypesAreErrorsWithLocation) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config(R"(type = "memory"
[[users]]
username = "1"
password = 1234
enabled = "yes"
)"),
                              diagnostics);
  EXPECT_FALSE(backend);
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Error,
                             "proxy.user_backends[0].users[0].password", "string"));
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Error,
                             "proxy.user_backends[0].users[0].enabled", "true or false"));
  for (const auto& item : diagnostics.all()) {
    if (item.key.ends_with(".password")) {
      EXPECT_EQ(item.where.line, 4u);
      EXPECT_EQ(item.where.file, "users.toml");
      EXPECT_NE(item.to_string().find("users.toml:4:"), std::string::npos) << item.to_string();
    }
  }
}

TEST(MemoryBackendConfig, MissingFieldsAndBadShapes) {
  config::Diagnostics diagnostics;
  EXPECT_FALSE(make_backend(backend_config("type = \"memory\"\n[[users]]\nusername = \"1\"\n"), diagnostics));
  EXPECT_TRUE(has_diagnostic(diagnostics, Diagnostic::Severity::Error,
                             "proxy.user_backends[0].users[0].password", "required"));
  config::Diagnostics shape;
  EXPECT_FALSE(make_backend(backend_config("type = \"memory\"\nusers = \"alice\"\n"), shape));
  EXPECT_TRUE(has_diagnostic(shape, Diagnostic::Severity::Error, "proxy.user_backends[0].users", "array"));
  config::Diagnostics elements;
  EXPECT_FALSE(make_backend(backend_config("type = \"memory\"\nusers = [1, 2]\n"), elements));
  EXPECT_TRUE(has_diagnostic(elements, Diagnostic::Severity::Error, "proxy.user_backends[0].users[1]", "table"));
}

TEST(BackendFactory, UnknownTypeIsAnErrorNamingTheKnownTypes) {
  config::Diagnostics unknown;
  EXPECT_FALSE(make_backend(backend_config("type = \"ldap\"\n"), unknown));
  EXPECT_TRUE(has_diagnostic(unknown, Diagnostic::Severity::Error, "proxy.user_backends[0].type",
                             "unknown backend type 'ldap' (known: database, extension, http, memory, plain"));
}

TEST(BackendFactory, EachBuiltInTypeChecksItsRequiredKeys) {
  // Every built type refuses an entry missing what it cannot work without,
  // instead of being skipped as the planned types once were.
  for (std::string type : {"http", "plain"}) {
    config::Diagnostics diagnostics;
    EXPECT_FALSE(make_backend(backend_config("type = \"" + type + "\"\n"), diagnostics)) << type;
    EXPECT_TRUE(diagnostics.has_errors()) << type;
  }
}

TEST(BackendFactory, BuiltInTypesAreRegisteredWithoutStaticInitialisers) {
  auto types = registered_backend_types();
  for (const char* expected : {"memory", "plain", "database", "http", "extension"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), expected), types.end()) << expected;
  }
}

TEST(BackendFactory, RegisteredTypeIsUsedAndChainKeepsOrder) {
  register_backend_type("test-fixed", [](const config::UserBackendConfig&, config::Diagnostics&) {
    return std::make_shared<MemoryBackend>(std::vector<SipUser>{{"1001", "from-fixed", {}, "", "", true, false}});
  });
  std::vector<config::UserBackendConfig> configs = {backend_config("type = \"test-fixed\"\n"),
                                                    backend_config(kTwoUsers)};
  config::Diagnostics diagnostics;
  auto chain = make_backend_chain(configs, diagnostics);
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->size(), 2u);
  EXPECT_EQ(lookup_now(*chain, "1001")->user.password, "from-fixed");
  EXPECT_EQ(lookup_now(*chain, "1002")->user.password, "other");

  // An invalid entry fails the whole chain.
  configs.push_back(backend_config("type = \"memory\"\nusers = \"alice\"\n"));
  config::Diagnostics failing;
  EXPECT_FALSE(make_backend_chain(configs, failing));
  EXPECT_TRUE(failing.has_errors());
}

}  // namespace
}  // namespace cppbx::users
