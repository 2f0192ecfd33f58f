// The extension backend against a real SQLite file: what a found extension
// looks like, the cache (TTL with a fake clock, LRU bound, misses cached,
// invalidation by in-process changes, stale answers never written back), the
// timeout while the database is locked, and the configuration fields.
//
// Whether an answer came from the cache is observed two ways: it arrives
// on the calling thread (a query answers from a worker thread), and a
// change written with raw SQL (which announces nothing) is not seen yet.
#include "users/extension_backend.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include <soci/sqlite3/soci-sqlite3.h>

#include "test_support.hpp"
#include "users/backend_factory.hpp"

namespace cppbx::users {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::backend_config;
using testing::has_diagnostic;
using Severity = config::Diagnostic::Severity;

struct Answer {
  LookupResult result;
  bool inline_answer = false;
};

// Waits for the answer, whichever thread gives it.
Answer lookup_wait(UserBackend& backend, const std::string& name) {
  auto promise = std::make_shared<std::promise<LookupResult>>();
  auto future = promise->get_future();
  auto answered_here = std::make_shared<std::atomic<bool>>(false);
  const auto caller = std::this_thread::get_id();
  backend.lookup({name, "example.com"}, [promise, answered_here, caller](LookupResult r) {
    answered_here->store(std::this_thread::get_id() == caller);
    promise->set_value(std::move(r));
  });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "no answer for " << name;
    return {LookupResult::error("no answer"), false};
  }
  return {future.get(), answered_here->load()};
}

class FakeClock {
 public:
  ExtensionCache::Clock function() {
    return [this] { return std::chrono::steady_clock::time_point(offset_.load()); };
  }
  void advance(std::chrono::steady_clock::duration by) { offset_.store(offset_.load() + by); }

 private:
  std::atomic<std::chrono::steady_clock::duration> offset_{std::chrono::hours(1)};
};

class ExtensionBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cppbx extbackend " + std::to_string(::getpid()) + " " +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::string error;
    database_ = storage::Database::open(url(), error);
    ASSERT_NE(database_, nullptr) << error;
    store_ = std::make_unique<storage::ExtensionStore>(*database_, &changes_);
  }
  void TearDown() override {
    store_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  std::string url() const { return "sqlite://" + (dir_ / "pbx.sqlite3").string(); }

  ExtensionBackend::Options options(std::chrono::seconds ttl = 30s) {
    ExtensionBackend::Options options;
    options.database_url = url();
    options.ttl = ttl;
    options.clock = clock_.function();
    options.changes = &changes_;
    return options;
  }

  void add(const std::string& name, const std::string& password, bool disabled = false) {
    storage::Extension extension;
    extension.extension = name;
    extension.sip_password = password;
    extension.display_name = "User " + name;
    extension.login_disabled = disabled;
    auto status = store_->add(extension);
    ASSERT_TRUE(status.ok()) << status.message;
  }

  // A change another process could make: nothing is announced.
  void raw_sql(const std::string& statement) {
    database_->with_session([&](soci::session& sql) { sql << statement; });
  }

  fs::path dir_;
  FakeClock clock_;
  storage::ExtensionChanges changes_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ExtensionStore> store_;
};

TEST_F(ExtensionBackendTest, FoundExtensionBecomesASipUser) {
  storage::Extension extension;
  extension.extension = "1001";
  extension.sip_password = "pw-1001";
  extension.display_name = "Alice";
  extension.allow_guest_calls = true;
  ASSERT_TRUE(store_->add(extension).ok());
  ExtensionBackend backend(options());
  Answer answer = lookup_wait(backend, "1001");
  ASSERT_EQ(answer.result.outcome, LookupOutcome::Found) << answer.result.detail;
  EXPECT_FALSE(answer.inline_answer);  // first time: from a worker
  EXPECT_EQ(answer.result.user.username, "1001");
  EXPECT_EQ(answer.result.user.password, "pw-1001");
  EXPECT_EQ(answer.result.user.display_name, "Alice");
  EXPECT_TRUE(answer.result.user.enabled);
  EXPECT_TRUE(answer.result.user.allow_guest_calls);
  EXPECT_TRUE(answer.result.user.realm.empty());
  EXPECT_FALSE(answer.result.user.ha1_md5.has_value());
}

TEST_F(ExtensionBackendTest, DisabledExtensionIsFoundButNotEnabled) {
  add("1001", "pw-1001", /*disabled=*/true);
  ExtensionBackend backend(options());
  Answer answer = lookup_wait(backend, "1001");
  ASSERT_EQ(answer.result.outcome, LookupOutcome::Found);
  EXPECT_FALSE(answer.result.user.enabled);
}

TEST_F(ExtensionBackendTest, UnknownExtensionIsNotFound) {
  add("1001", "pw-1001");
  ExtensionBackend backend(options());
  EXPECT_EQ(lookup_wait(backend, "1002").result.outcome, LookupOutcome::NotFound);
}

TEST_F(ExtensionBackendTest, HitsAreServedFromTheCacheUntilTheTtlRunsOut) {
  add("1001", "old-pass");
  ExtensionBackend backend(options(30s));
  ASSERT_EQ(lookup_wait(backend, "1001").result.user.password, "old-pass");
  raw_sql("UPDATE extensions SET sip_password = 'new-pass' WHERE extension = '1001'");

  clock_.advance(29s);
  Answer cached = lookup_wait(backend, "1001");
  EXPECT_TRUE(cached.inline_answer);
  EXPECT_EQ(cached.result.user.password, "old-pass");

  clock_.advance(2s);
  Answer fresh = lookup_wait(backend, "1001");
  EXPECT_FALSE(fresh.inline_answer);
  EXPECT_EQ(fresh.result.user.password, "new-pass");
}

TEST_F(ExtensionBackendTest, MissesAreCachedToo) {
  ExtensionBackend backend(options(10s));
  ASSERT_EQ(lookup_wait(backend, "1001").result.outcome, LookupOutcome::NotFound);
  raw_sql("INSERT INTO extensions (extension, sip_password, created_at, updated_at) "
          "VALUES ('1001', 'pw', 'x', 'x')");
  Answer cached = lookup_wait(backend, "1001");
  EXPECT_TRUE(cached.inline_answer);
  EXPECT_EQ(cached.result.outcome, LookupOutcome::NotFound);
  clock_.advance(11s);
  EXPECT_EQ(lookup_wait(backend, "1001").result.outcome, LookupOutcome::Found);
}

TEST_F(ExtensionBackendTest, InProcessChangesInvalidateAtOnce) {
  add("1001", "pw-1001");
  ExtensionBackend backend(options(3600s));
  ASSERT_TRUE(lookup_wait(backend, "1001").result.user.enabled);
  ASSERT_EQ(lookup_wait(backend, "1002").result.outcome, LookupOutcome::NotFound);
  ASSERT_EQ(backend.cached_entries(), 2u);

  ASSERT_TRUE(store_->set_enabled("1001", false).ok());
  Answer disabled = lookup_wait(backend, "1001");
  EXPECT_FALSE(disabled.inline_answer);
  EXPECT_FALSE(disabled.result.user.enabled);

  ASSERT_TRUE(store_->set_password("1001", "changed").ok());
  EXPECT_EQ(lookup_wait(backend, "1001").result.user.password, "changed");

  add("1002", "pw-1002");  // a cached miss becomes a hit at once
  EXPECT_EQ(lookup_wait(backend, "1002").result.outcome, LookupOutcome::Found);

  ASSERT_TRUE(store_->remove("1001").ok());
  EXPECT_EQ(lookup_wait(backend, "1001").result.outcome, LookupOutcome::NotFound);
}

TEST_F(ExtensionBackendTest, CacheKeepsTheMostRecentlyUsedWithinItsBound) {
  for (const char* name : {"1", "2", "3", "4"}) add(name, std::string("pw-") + name);
  auto opts = options();
  opts.cache_capacity = 3;
  ExtensionBackend backend(opts);
  for (const char* name : {"1", "2", "3"}) ASSERT_EQ(lookup_wait(backend, name).result.outcome, LookupOutcome::Found);
  ASSERT_TRUE(lookup_wait(backend, "1").inline_answer);  // "1" is now the most recent
  ASSERT_EQ(lookup_wait(backend, "4").result.outcome, LookupOutcome::Found);  // evicts "2"
  EXPECT_EQ(backend.cached_entries(), 3u);
  EXPECT_TRUE(lookup_wait(backend, "1").inline_answer);
  EXPECT_TRUE(lookup_wait(backend, "3").inline_answer);
  EXPECT_TRUE(lookup_wait(backend, "4").inline_answer);
  EXPECT_FALSE(lookup_wait(backend, "2").inline_answer);
  EXPECT_EQ(backend.cached_entries(), 3u);
}

TEST_F(ExtensionBackendTest, DefaultCacheHoldsTenThousandEntries) {
  EXPECT_EQ(ExtensionBackend::Options{}.cache_capacity, 10000u);
  ExtensionCache cache(ExtensionBackend::kDefaultCacheCapacity, 30s, clock_.function());
  for (int i = 0; i <= 10000; ++i) cache.put(std::to_string(i), std::nullopt, cache.generation());
  EXPECT_EQ(cache.size(), 10000u);
  EXPECT_FALSE(cache.get("0").has_value());  // the oldest went
  EXPECT_TRUE(cache.get("10000").has_value());
}

TEST_F(ExtensionBackendTest, AnAnswerQueriedBeforeAnInvalidationIsNotCached) {
  ExtensionCache cache(10, 30s, clock_.function());
  uint64_t before = cache.generation();
  cache.invalidate("1001");
  SipUser stale;
  stale.username = "1001";
  cache.put("1001", stale, before);
  EXPECT_FALSE(cache.get("1001").has_value());
  cache.put("1001", stale, cache.generation());
  EXPECT_TRUE(cache.get("1001").has_value());
}

TEST_F(ExtensionBackendTest, ZeroTtlCachesNothing) {
  add("1001", "old-pass");
  ExtensionBackend backend(options(0s));
  ASSERT_EQ(lookup_wait(backend, "1001").result.user.password, "old-pass");
  raw_sql("UPDATE extensions SET sip_password = 'new-pass' WHERE extension = '1001'");
  Answer answer = lookup_wait(backend, "1001");
  EXPECT_FALSE(answer.inline_answer);
  EXPECT_EQ(answer.result.user.password, "new-pass");
  EXPECT_EQ(backend.cached_entries(), 0u);
}

TEST_F(ExtensionBackendTest, ReloadForgetsCachedAnswers) {
  add("1001", "old-pass");
  ExtensionBackend backend(options());
  ASSERT_EQ(lookup_wait(backend, "1001").result.user.password, "old-pass");
  raw_sql("UPDATE extensions SET sip_password = 'new-pass' WHERE extension = '1001'");
  backend.reload();
  EXPECT_EQ(lookup_wait(backend, "1001").result.user.password, "new-pass");
}

TEST_F(ExtensionBackendTest, NamesNoExtensionCanHaveAreNotFoundWithoutAQuery) {
  ExtensionBackend backend(options());
  for (std::string name : {std::string("1001' OR '1'='1"), std::string(), std::string(200, '9'), std::string("a b")}) {
    Answer answer = lookup_wait(backend, name);
    EXPECT_EQ(answer.result.outcome, LookupOutcome::NotFound) << name;
    EXPECT_TRUE(answer.inline_answer) << name;
  }
  EXPECT_EQ(backend.cached_entries(), 0u);
}

TEST_F(ExtensionBackendTest, UnopenableDatabaseIsAnErrorAndNothingIsCached) {
  auto opts = options();
  opts.database_url = "sqlite://" + (dir_ / "missing folder" / "db.sqlite3").string();
  ExtensionBackend backend(opts);
  Answer answer = lookup_wait(backend, "1001");
  EXPECT_EQ(answer.result.outcome, LookupOutcome::Error);
  EXPECT_EQ(backend.cached_entries(), 0u);
  // The folder appears: the next lookup opens the database and answers.
  fs::create_directories(dir_ / "missing folder");
  EXPECT_EQ(lookup_wait(backend, "1001").result.outcome, LookupOutcome::NotFound);
}

TEST_F(ExtensionBackendTest, LockedDatabaseAnswersAnErrorAtTheTimeout) {
  add("1001", "pw-1001");
  auto opts = options();
  opts.timeout = 300ms;
  ExtensionBackend backend(opts);
  soci::session locker(soci::sqlite3, "db=\"" + (dir_ / "pbx.sqlite3").string() + "\"");
  locker << "BEGIN EXCLUSIVE";
  auto started = std::chrono::steady_clock::now();
  Answer answer = lookup_wait(backend, "1001");
  auto waited = std::chrono::steady_clock::now() - started;
  locker << "COMMIT";
  EXPECT_EQ(answer.result.outcome, LookupOutcome::Error);
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(answer.result.detail.find("pw-1001"), std::string::npos);
  // Once the lock is gone the stuck query finishes and lookups work again.
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = lookup_wait(backend, "1001").result.outcome == LookupOutcome::Found;
    if (!recovered) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(recovered);
}

// --- configuration ---------------------------------------------------------

TEST_F(ExtensionBackendTest, FactoryBuildsItFromTheEntry) {
  auto cfg = backend_config("type = \"extension\"\nttl = 5\ntimeout_ms = 500\nmax_in_flight = 8\n");
  cfg.database_url = url();
  config::Diagnostics diagnostics;
  auto backend = make_backend(cfg, diagnostics);
  ASSERT_NE(backend, nullptr);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_EQ(backend->type(), "extension");
  add("1001", "pw-1001");
  EXPECT_EQ(lookup_wait(*backend, "1001").result.outcome, LookupOutcome::Found);
}

TEST_F(ExtensionBackendTest, OwnDatabaseUrlWinsOverTheTopLevelOne) {
  const std::string other = (dir_ / "other.sqlite3").string();
  auto cfg = backend_config("type = \"extension\"\ndatabase_url = \"sqlite://" + other + "\"\n");
  cfg.database_url = url();
  config::Diagnostics diagnostics;
  auto backend = make_extension_backend(cfg, diagnostics);
  ASSERT_NE(backend, nullptr);
  add("1001", "pw-1001");  // in the top-level database only
  EXPECT_EQ(lookup_wait(*backend, "1001").result.outcome, LookupOutcome::NotFound);
  EXPECT_TRUE(fs::exists(other));  // migrated on first use
}

TEST_F(ExtensionBackendTest, BuildingTheBackendCreatesNoDatabase) {
  const std::string later = (dir_ / "later.sqlite3").string();
  auto cfg = backend_config("type = \"extension\"\n");
  cfg.database_url = "sqlite://" + later;
  config::Diagnostics diagnostics;
  ASSERT_NE(make_extension_backend(cfg, diagnostics), nullptr);
  EXPECT_FALSE(fs::exists(later));
}

TEST_F(ExtensionBackendTest, BadFieldsAreErrorsWithTheirKeys) {
  struct Case {
    std::string toml;
    std::string key;
  };
  for (const Case& c : {Case{"ttl = \"long\"", "ttl"}, Case{"ttl = -1", "ttl"},
                        Case{"timeout_ms = 0", "timeout_ms"}, Case{"max_in_flight = 1.5", "max_in_flight"},
                        Case{"database_url = 7", "database_url"}, Case{"database_url = \"\"", "database_url"},
                        Case{"database_url = \"oracle://db\"", "database_url"},
                        Case{"database_url = \"postgres://u:secret@:99999/x\"", "database_url"}}) {
    auto cfg = backend_config("type = \"extension\"\n" + c.toml + "\n");
    cfg.database_url = url();
    config::Diagnostics diagnostics;
    EXPECT_EQ(make_extension_backend(cfg, diagnostics), nullptr) << c.toml;
    EXPECT_TRUE(has_diagnostic(diagnostics, Severity::Error, "proxy.user_backends[0]." + c.key, ""))
        << c.toml;
    for (const auto& item : diagnostics.all()) EXPECT_EQ(item.message.find("secret"), std::string::npos);
  }
}

TEST_F(ExtensionBackendTest, UnknownKeysAreWarnings) {
  auto cfg = backend_config("type = \"extension\"\nttl_seconds = 5\n");
  cfg.database_url = url();
  config::Diagnostics diagnostics;
  EXPECT_NE(make_extension_backend(cfg, diagnostics), nullptr);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_TRUE(has_diagnostic(diagnostics, Severity::Warning, "proxy.user_backends[0].ttl_seconds", ""));
}

}  // namespace
}  // namespace cppbx::users
