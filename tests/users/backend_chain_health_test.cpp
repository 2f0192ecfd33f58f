// BackendChain::health(): per backend, in chain order, how many lookups the
// chain asked it, how many answered Error, and the last error's time and
// (shortened) detail; a backend never reached counts nothing.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "users/backend_chain.hpp"

namespace cppbx::users {
namespace {

using testing::lookup_now;

// Answers with the next scripted result (the last one repeats).
class SequenceBackend final : public UserBackend {
 public:
  SequenceBackend(std::string type, std::vector<LookupResult> answers)
      : type_(std::move(type)), answers_(std::move(answers)) {}
  std::string_view type() const override { return type_; }
  void lookup(const LookupRequest&, LookupCallback done) override {
    const size_t index = std::min(next_++, answers_.size() - 1);
    done(answers_[index]);
  }

 private:
  std::string type_;
  std::vector<LookupResult> answers_;
  size_t next_ = 0;
};

SipUser bob() {
  SipUser user;
  user.username = "bob";
  user.password = "secret";
  return user;
}

TEST(BackendChainHealth, CountsLookupsAndErrorsPerBackendInOrder) {
  auto database = std::make_shared<SequenceBackend>(
      "database", std::vector<LookupResult>{LookupResult::error("connection refused"), LookupResult::not_found()});
  auto memory = std::make_shared<SequenceBackend>("memory", std::vector<LookupResult>{LookupResult::found(bob())});
  auto never = std::make_shared<SequenceBackend>("http", std::vector<LookupResult>{LookupResult::not_found()});
  BackendChain chain({database, memory, never});

  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(lookup_now(chain, "bob", "example.com"));
  ASSERT_TRUE(lookup_now(chain, "bob", "example.com"));

  std::vector<BackendHealth> health = chain.health();
  ASSERT_EQ(health.size(), 3u);
  EXPECT_EQ(health[0].type, "database");
  EXPECT_EQ(health[0].lookups, 2u);
  EXPECT_EQ(health[0].errors, 1u);
  ASSERT_TRUE(health[0].last_error_at.has_value());
  EXPECT_GE(*health[0].last_error_at, before);
  EXPECT_EQ(health[0].last_error, "connection refused");

  EXPECT_EQ(health[1].type, "memory");
  EXPECT_EQ(health[1].lookups, 2u);
  EXPECT_EQ(health[1].errors, 0u);
  EXPECT_FALSE(health[1].last_error_at.has_value());
  EXPECT_EQ(health[1].last_error, "");

  EXPECT_EQ(health[2].type, "http");
  EXPECT_EQ(health[2].lookups, 0u) << "the memory backend found the user first";
}

TEST(BackendChainHealth, LastErrorIsTheLatestAndCutShort) {
  const std::string long_detail(1000, 'x');
  auto failing = std::make_shared<SequenceBackend>(
      "http", std::vector<LookupResult>{LookupResult::error("first"), LookupResult::error(long_detail)});
  BackendChain chain({failing});
  lookup_now(chain, "bob", "example.com");
  lookup_now(chain, "bob", "example.com");
  BackendHealth health = chain.health().at(0);
  EXPECT_EQ(health.errors, 2u);
  EXPECT_LT(health.last_error.size(), 300u);
  EXPECT_EQ(health.last_error.substr(0, 10), std::string(10, 'x'));
}

}  // namespace
}  // namespace cppbx::users
