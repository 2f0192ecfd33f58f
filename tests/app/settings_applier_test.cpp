// SettingsApplier: new realms, user backends, locator and webhook go live
// behind the server's indirections; anything invalid (or a locator that does
// not answer, or a settings file that cannot be written) changes nothing;
// a new locator receives the bindings of the old one with their Call-ID,
// CSeq and connection.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "app/module_factory.hpp"
#include "app/settings_applier.hpp"
#include "location/memory_locator.hpp"

namespace cppbx::app {
namespace {

namespace fs = std::filesystem;
using SettingsOutcome = http_api::SettingsApplyResult::Outcome;

constexpr const char* kMainFile = R"(
[proxy]
realms = ["a.example.com"]
generated_dir = "generated"

[[proxy.user_backends]]
type = "memory"
users = [{ username = "1001", password = "pw-1001" }]

[proxy.locator]
type = "memory"
)";

class SettingsApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cppbx-apply-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "cppbx.toml") << kMainFile;
    config::Diagnostics diagnostics;
    running_ = config::load_file((dir_ / "cppbx.toml").string(), diagnostics);
    ASSERT_FALSE(diagnostics.has_errors());

    users_ = std::make_shared<SwappableBackend>(build_user_backends(running_, diagnostics));
    identity_ = std::make_shared<proxy::ServerIdentity>(running_.proxy.realms, std::vector<std::string>{}, "cppbx");
    config::Diagnostics ignored;
    first_locator_ = make_locator(running_.proxy.locator, {io_, "", "sip:127.0.0.1:5060"}, ignored);
    first_locator_->start();
    locator_ = std::make_shared<SwappableLocator>(first_locator_);
    webhook_ = std::make_shared<WebhookRelay>(nullptr);
    thread_ = std::thread([this] { io_.run(); });
    SettingsTargets targets{io_, "", "sip:127.0.0.1:5060", users_, identity_, locator_, webhook_,
                            [this](const config::Config& c) { published_ = c.proxy.realms; }};
    applier_ = std::make_unique<SettingsApplier>(std::move(targets), running_);
  }

  void TearDown() override {
    guard_.reset();
    io_.stop();
    thread_.join();
    applier_.reset();
    locator_->stop();
    fs::remove_all(dir_);
  }

  // The running configuration with the settings of `overlay` (TOML text).
  config::Config proposed(const std::string& overlay) {
    config::Config result = applier_->running();
    config::Diagnostics diagnostics;
    config::apply_overlay_text(result, overlay, "proposed.toml", diagnostics);
    EXPECT_FALSE(diagnostics.has_errors());
    return result;
  }

  users::LookupOutcome lookup_user(const std::string& name) {
    std::promise<users::LookupResult> answer;
    users_->lookup({name, "a.example.com"}, [&](users::LookupResult r) { answer.set_value(std::move(r)); });
    return answer.get_future().get().outcome;
  }

  location::UpdateResult register_binding(location::Locator& locator, const std::string& aor,
                                          const std::string& contact, const std::string& call_id, uint32_t cseq,
                                          transport::ConnectionId connection = 0) {
    location::Binding binding;
    binding.contact = contact;
    binding.destination = "tcp:192.0.2.1:5060";
    binding.connection = connection;
    binding.expires_at = location::Clock::now() + std::chrono::seconds(300);
    location::UpdateRequest request;
    request.aor = aor;
    request.call_id = call_id;
    request.cseq = cseq;
    request.upserts.push_back(binding);
    std::promise<location::UpdateResult> answer;
    locator.update(request, [&](location::UpdateResult r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }

  std::vector<location::Binding> bindings_of(const std::string& aor) {
    std::promise<location::LookupResult> answer;
    locator_->lookup(aor, [&](location::LookupResult r) { answer.set_value(std::move(r)); });
    return answer.get_future().get().bindings;
  }

  fs::path dir_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_{io_.get_executor()};
  std::thread thread_;
  config::Config running_;
  std::shared_ptr<SwappableBackend> users_;
  std::shared_ptr<proxy::ServerIdentity> identity_;
  std::shared_ptr<location::Locator> first_locator_;
  std::shared_ptr<SwappableLocator> locator_;
  std::shared_ptr<WebhookRelay> webhook_;
  std::unique_ptr<SettingsApplier> applier_;
  std::vector<std::string> published_;
};

TEST_F(SettingsApplierTest, NewBackendsAndRealmsGoLiveAndTheFileIsWritten) {
  ASSERT_EQ(lookup_user("2002"), users::LookupOutcome::NotFound);
  auto result = applier_->apply(proposed(R"([proxy]
realms = ["b.example.com"]
[[proxy.user_backends]]
type = "memory"
users = [{ username = "2002", password = "pw-2002" }]
)"), true);
  ASSERT_EQ(result.outcome, SettingsOutcome::Applied) << result.error;
  EXPECT_EQ(lookup_user("2002"), users::LookupOutcome::Found);
  EXPECT_EQ(lookup_user("1001"), users::LookupOutcome::NotFound);
  EXPECT_EQ(identity_->realm_for("elsewhere.example.com"), "b.example.com");
  EXPECT_EQ(published_, std::vector<std::string>{"b.example.com"});
  EXPECT_EQ(result.applied.proxy.realms, std::vector<std::string>{"b.example.com"});
  EXPECT_EQ(result.file, (dir_ / "generated" / "proxy_settings.toml").string());
  struct stat info {};
  ASSERT_EQ(::stat(result.file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(locator_->current(), first_locator_) << "an unchanged locator is kept";
  EXPECT_EQ(result.locator_bindings_carried, 0u);
}

TEST_F(SettingsApplierTest, InvalidBackendChangesNothingAndWritesNothing) {
  auto result = applier_->apply(proposed(R"([proxy]
realms = ["b.example.com"]
[[proxy.user_backends]]
type = "http"
)"), true);
  ASSERT_EQ(result.outcome, SettingsOutcome::Invalid);
  ASSERT_FALSE(result.problems.empty());
  EXPECT_EQ(result.problems.front().key.rfind("proxy.user_backends[0]", 0), 0u) << result.problems.front().key;
  EXPECT_EQ(lookup_user("1001"), users::LookupOutcome::Found);
  EXPECT_EQ(identity_->realm_for("elsewhere.example.com"), "a.example.com");
  EXPECT_FALSE(fs::exists(dir_ / "generated" / "proxy_settings.toml"));
  EXPECT_TRUE(published_.empty());
}

TEST_F(SettingsApplierTest, ANewLocatorReceivesEveryBindingWithItsCallIdAndConnection) {
  ASSERT_EQ(register_binding(*locator_, "sip:1001@a.example.com", "sip:1001@192.0.2.1:5060", "call-a", 5, 7).status,
            location::UpdateStatus::Ok);
  ASSERT_EQ(register_binding(*locator_, "sip:1001@a.example.com", "sip:1001@192.0.2.2:5060", "call-b", 1).status,
            location::UpdateStatus::Ok);
  ASSERT_EQ(register_binding(*locator_, "sip:1002@a.example.com", "sip:1002@192.0.2.3:5060", "call-c", 2).status,
            location::UpdateStatus::Ok);

  auto result = applier_->apply(proposed("[proxy.locator]\ntype = \"memory\"\nmax_bindings_per_aor = 5\n"), false);
  ASSERT_EQ(result.outcome, SettingsOutcome::Applied) << result.error;
  EXPECT_EQ(result.locator_bindings_carried, 3u);
  EXPECT_NE(locator_->current(), first_locator_);
  EXPECT_EQ(locator_->current()->binding_count(), 3u);
  EXPECT_EQ(bindings_of("sip:1001@a.example.com").size(), 2u);
  EXPECT_EQ(bindings_of("sip:1002@a.example.com").size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / "generated" / "proxy_settings.toml")) << "not saved when not asked";

  // Call-ID and CSeq came along: an older request of that phone is refused.
  EXPECT_EQ(register_binding(*locator_, "sip:1001@a.example.com", "sip:1001@192.0.2.1:5060", "call-a", 4).status,
            location::UpdateStatus::OutOfOrder);
  // The connection came along: closing it removes that binding only.
  locator_->connection_closed(7);
  auto left = bindings_of("sip:1001@a.example.com");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].contact, "sip:1001@192.0.2.2:5060");
}

// An old locator whose listing the test decides (another node's bindings in
// a shared store, or a store that cannot list).
class ListingLocator final : public location::Locator {
 public:
  explicit ListingLocator(location::ListResult listing) : listing_(std::move(listing)) {}
  std::string_view type() const override { return "listing"; }
  void update(location::UpdateRequest, std::function<void(location::UpdateResult)> done) override { done({}); }
  void lookup(const std::string&, std::function<void(location::LookupResult)> done) override { done({}); }
  void list(location::ListRequest, std::function<void(location::ListResult)> done) override { done(listing_); }
  void connection_closed(transport::ConnectionId) override {}
  void set_observer(std::shared_ptr<location::LocationObserver>) override {}
  size_t binding_count() const override { return listing_.bindings.size(); }

 private:
  location::ListResult listing_;
};

location::Binding binding_held_by(const std::string& aor, const std::string& contact, const std::string& node) {
  location::Binding binding;
  binding.aor = aor;
  binding.contact = contact;
  binding.destination = "udp:192.0.2.1:5060";
  binding.expires_at = location::Clock::now() + std::chrono::seconds(300);
  binding.home_proxy = node;
  return binding;
}

TEST_F(SettingsApplierTest, OnlyThisNodesBindingsAreCarriedOver) {
  location::ListResult listing;
  listing.bindings = {binding_held_by("sip:1001@a.example.com", "sip:1001@192.0.2.1:5060", "sip:127.0.0.1:5060"),
                      binding_held_by("sip:1002@a.example.com", "sip:1002@192.0.2.2:5060", "sip:10.0.0.9:5060"),
                      binding_held_by("sip:1003@a.example.com", "sip:1003@192.0.2.3:5060", "")};
  listing.total = listing.bindings.size();
  locator_->replace(std::make_shared<ListingLocator>(listing));

  auto result = applier_->apply(proposed("[proxy.locator]\ntype = \"memory\"\nmax_bindings_per_aor = 5\n"), false);
  ASSERT_EQ(result.outcome, SettingsOutcome::Applied) << result.error;
  EXPECT_EQ(result.locator_bindings_carried, 2u);
  EXPECT_EQ(bindings_of("sip:1001@a.example.com").size(), 1u);
  EXPECT_TRUE(bindings_of("sip:1002@a.example.com").empty()) << "another node's binding is not this node's to copy";
  EXPECT_EQ(bindings_of("sip:1003@a.example.com").size(), 1u);
}

TEST_F(SettingsApplierTest, ALocatorThatCannotListItsBindingsIsNotReplaced) {
  location::ListResult listing;
  listing.ok = false;
  listing.detail = "listing not supported by the registry service";
  auto old_locator = std::make_shared<ListingLocator>(listing);
  locator_->replace(old_locator);

  auto result = applier_->apply(proposed("[proxy.locator]\ntype = \"memory\"\nmax_bindings_per_aor = 5\n"), true);
  ASSERT_EQ(result.outcome, SettingsOutcome::Invalid);
  ASSERT_FALSE(result.problems.empty());
  EXPECT_EQ(result.problems.front().key, "proxy.locator");
  EXPECT_NE(result.problems.front().message.find("not supported"), std::string::npos) << result.problems.front().message;
  EXPECT_EQ(locator_->current(), old_locator) << "phones would be unreachable until they register again";
  EXPECT_FALSE(fs::exists(dir_ / "generated" / "proxy_settings.toml"));
  EXPECT_TRUE(published_.empty());
}

TEST_F(SettingsApplierTest, TuningALocatorOfTheSameStoreCopiesNothing) {
  const std::string database = "sqlite://" + (dir_ / "locations.sqlite3").string();
  auto to_database = applier_->apply(
      proposed("[proxy.locator]\ntype = \"database\"\nurl = \"" + database + "\"\n"), false);
  ASSERT_EQ(to_database.outcome, SettingsOutcome::Applied) << to_database.error;
  ASSERT_EQ(register_binding(*locator_, "sip:1001@a.example.com", "sip:1001@192.0.2.1:5060", "call-a", 1).status,
            location::UpdateStatus::Ok);
  auto database_locator = locator_->current();

  auto tuned = applier_->apply(
      proposed("[proxy.locator]\ntype = \"database\"\nurl = \"" + database + "\"\ntimeout_ms = 3000\n"), false);
  ASSERT_EQ(tuned.outcome, SettingsOutcome::Applied) << tuned.error;
  EXPECT_NE(locator_->current(), database_locator) << "the tuned locator is a new one";
  EXPECT_EQ(tuned.locator_bindings_carried, 0u) << "the bindings are in its store already";
  EXPECT_EQ(bindings_of("sip:1001@a.example.com").size(), 1u);
}

TEST_F(SettingsApplierTest, ALocatorThatDoesNotAnswerIsRefusedAndTheOldOneStays) {
  ASSERT_EQ(register_binding(*locator_, "sip:1001@a.example.com", "sip:1001@192.0.2.1:5060", "call-a", 1).status,
            location::UpdateStatus::Ok);
  auto result = applier_->apply(
      proposed("[proxy.locator]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:1\"\ntimeout_ms = 300\n"), true);
  ASSERT_EQ(result.outcome, SettingsOutcome::Invalid);
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_EQ(result.problems[0].key, "proxy.locator");
  EXPECT_EQ(locator_->current(), first_locator_);
  EXPECT_EQ(bindings_of("sip:1001@a.example.com").size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / "generated" / "proxy_settings.toml"));
  EXPECT_EQ(applier_->running().proxy.locator.type, "memory");
}

TEST_F(SettingsApplierTest, TheWebhookIsSwappedAndRemoved) {
  auto result = applier_->apply(proposed("[proxy.locator_webhook]\nurl = \"http://127.0.0.1:9/hook\"\n"), false);
  ASSERT_EQ(result.outcome, SettingsOutcome::Applied) << result.error;
  ASSERT_TRUE(webhook_->current());
  EXPECT_EQ(webhook_->current()->options().url, "http://127.0.0.1:9/hook");
  auto first = webhook_->current();

  result = applier_->apply(proposed("[proxy.locator_webhook]\nurl = \"http://127.0.0.1:9/hook\"\n"), false);
  EXPECT_EQ(webhook_->current(), first) << "an unchanged webhook is kept";

  result = applier_->apply(proposed("[proxy]\nlocator_webhook = false\n"), false);
  ASSERT_EQ(result.outcome, SettingsOutcome::Applied) << result.error;
  EXPECT_FALSE(webhook_->current());
  EXPECT_FALSE(applier_->running().proxy.locator_webhook.has_value());
}

TEST_F(SettingsApplierTest, AFileThatCannotBeWrittenAppliesNothing) {
  std::ofstream(dir_ / "generated") << "a file where the folder should be";
  auto result = applier_->apply(proposed("[proxy]\nrealms = [\"b.example.com\"]\n"), true);
  ASSERT_EQ(result.outcome, SettingsOutcome::NotSaved);
  EXPECT_NE(result.error.find("generated"), std::string::npos) << result.error;
  EXPECT_EQ(identity_->realm_for("elsewhere.example.com"), "a.example.com");
  EXPECT_TRUE(published_.empty());
}

TEST(ServerIdentityRealms, SetRealmsReplacesTheListForLaterRequests) {
  proxy::ServerIdentity identity({"a.example.com"}, {"10.0.0.5"}, "cppbx");
  EXPECT_FALSE(identity.is_local_domain("b.example.com"));
  identity.set_realms({"B.example.com"});
  EXPECT_TRUE(identity.is_local_domain("b.example.com"));
  EXPECT_FALSE(identity.is_local_domain("a.example.com"));
  EXPECT_EQ(identity.realm_for("x.example.com"), "b.example.com");
  identity.set_realms({});
  EXPECT_TRUE(identity.is_local_domain("anything.example.com"));
}

}  // namespace
}  // namespace cppbx::app
