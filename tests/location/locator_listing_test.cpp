// Locator::list() and remove() on every store of LocatorTest (memory,
// SQLite, PostgreSQL, MariaDB, Redis, HTTP on the registry service): what the
// administration API's registrations page relies on. Listing is sorted by
// AoR then contact, filtered by a case-insensitive AoR substring (pattern
// characters taken literally), paged with the total before paging, and never
// shows expired bindings; removal takes one binding whatever its Call-ID.
#include "locator_conformance.hpp"

namespace cppbx::location::conformance {
namespace {

const std::string kBob = "sip:bob@example.com";
const std::string kCarol = "sip:Carol@example.org";

std::vector<std::string> aor_contacts(const std::vector<Binding>& bindings) {
  std::vector<std::string> out;
  for (const Binding& b : bindings) out.push_back(b.aor + " " + b.contact);
  return out;
}

ListRequest page(std::string contains, size_t offset, size_t limit) {
  ListRequest request;
  request.aor_contains = std::move(contains);
  request.offset = offset;
  request.limit = limit;
  return request;
}

class ListingTest : public LocatorTest {
 protected:
  // Registered out of order on purpose: the listing sorts.
  void register_three_users() {
    ASSERT_EQ(update(make_request("c1", 1, {make_binding("sip:c@192.0.2.9")}, {}, kCarol)).status, UpdateStatus::Ok);
    ASSERT_EQ(update(make_request("a1", 1, {make_binding("sip:a@192.0.2.2"), make_binding("sip:a@192.0.2.1")})).status,
              UpdateStatus::Ok);
    ASSERT_EQ(update(make_request("b1", 1, {make_binding("sip:b@192.0.2.5")}, {}, kBob)).status, UpdateStatus::Ok);
  }

  ListResult list(ListRequest request) {
    ListResult result = list_on(locator(), std::move(request));
    EXPECT_TRUE(result.ok) << result.detail;
    return result;
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, ListingTest,
                         ::testing::Values(Store::Memory, Store::Sqlite, Store::Postgres, Store::MariaDb,
                                           Store::Redis, Store::Http),
                         store_name);

TEST_P(ListingTest, ListsEveryBindingSortedByAorThenContact) {
  ASSERT_NO_FATAL_FAILURE(register_three_users());
  ListResult all = list(page("", 0, 0));
  EXPECT_EQ(all.total, 4u);
  const std::vector<std::string> expected{kCarol + " sip:c@192.0.2.9", kAlice + " sip:a@192.0.2.1",
                                          kAlice + " sip:a@192.0.2.2", kBob + " sip:b@192.0.2.5"};
  EXPECT_EQ(aor_contacts(all.bindings), expected) << "byte order: 'C' sorts before 'a'";
}

TEST_P(ListingTest, PagesKeepTheTotalOfAllMatches) {
  ASSERT_NO_FATAL_FAILURE(register_three_users());
  ListResult middle = list(page("", 1, 2));
  EXPECT_EQ(middle.total, 4u);
  EXPECT_EQ(aor_contacts(middle.bindings),
            (std::vector<std::string>{kAlice + " sip:a@192.0.2.1", kAlice + " sip:a@192.0.2.2"}));
  ListResult last = list(page("", 3, 2));
  EXPECT_EQ(aor_contacts(last.bindings), std::vector<std::string>{kBob + " sip:b@192.0.2.5"});
  ListResult beyond = list(page("", 10, 2));
  EXPECT_TRUE(beyond.bindings.empty());
  EXPECT_EQ(beyond.total, 4u);
}

TEST_P(ListingTest, FilterIsACaseInsensitiveSubstringOfTheAor) {
  ASSERT_NO_FATAL_FAILURE(register_three_users());
  ListResult alice = list(page("ALICE@", 0, 0));
  EXPECT_EQ(alice.total, 2u);
  EXPECT_EQ(contacts_of(alice.bindings), (std::vector<std::string>{"sip:a@192.0.2.1", "sip:a@192.0.2.2"}));
  ListResult carol = list(page("carol", 0, 0));
  EXPECT_EQ(aor_contacts(carol.bindings), std::vector<std::string>{kCarol + " sip:c@192.0.2.9"});
  ListResult org = list(page(".org", 0, 0));
  EXPECT_EQ(org.total, 1u);
  ListResult nobody = list(page("dave", 0, 0));
  EXPECT_EQ(nobody.total, 0u);
  EXPECT_TRUE(nobody.bindings.empty());
}

TEST_P(ListingTest, PatternCharactersInTheFilterAreLiteral) {
  ASSERT_NO_FATAL_FAILURE(register_three_users());
  const std::string odd = "sip:o_d%d!@example.com";
  ASSERT_EQ(update(make_request("o1", 1, {make_binding("sip:o@192.0.2.7")}, {}, odd)).status, UpdateStatus::Ok);
  EXPECT_EQ(aor_contacts(list(page("_d%d!", 0, 0)).bindings), std::vector<std::string>{odd + " sip:o@192.0.2.7"});
  EXPECT_EQ(list(page("%", 0, 0)).total, 1u) << "'%' is not a wildcard";
  EXPECT_EQ(list(page("a_i", 0, 0)).total, 0u) << "'_' is not a wildcard (would match 'ali')";
}

TEST_P(ListingTest, ExpiredBindingsAreNotListed) {
  ASSERT_EQ(update(make_request("a1", 1, {make_binding("sip:a@192.0.2.1", 30ms), make_binding("sip:a@192.0.2.2")}))
                .status,
            UpdateStatus::Ok);
  ASSERT_EQ(update(make_request("b1", 1, {make_binding("sip:b@192.0.2.5", 30ms)}, {}, kBob)).status, UpdateStatus::Ok);
  std::this_thread::sleep_for(80ms);
  ListResult all = list(page("", 0, 0));
  EXPECT_EQ(all.total, 1u);
  EXPECT_EQ(aor_contacts(all.bindings), std::vector<std::string>{kAlice + " sip:a@192.0.2.2"});
}

TEST_P(ListingTest, ListedBindingsCarryWhatThePageShows) {
  Binding binding = make_binding("sip:a@192.0.2.1:5070;transport=tcp", 600s, 7);
  binding.destination = "tcp:192.0.2.1:5070";
  binding.user_agent = "Phone/1.0";
  binding.supports_webrtc = true;
  ASSERT_EQ(update(make_request("a1", 1, {binding})).status, UpdateStatus::Ok);
  ListResult all = list(page("", 0, 0));
  ASSERT_EQ(all.bindings.size(), 1u);
  const Binding& listed = all.bindings[0];
  EXPECT_EQ(listed.key(), "sip:a@192.0.2.1:5070;transport=tcp");
  EXPECT_EQ(listed.destination, "tcp:192.0.2.1:5070");
  EXPECT_EQ(listed.transport, transport::Protocol::Tcp);
  EXPECT_EQ(listed.user_agent, "Phone/1.0");
  EXPECT_TRUE(listed.supports_webrtc);
  EXPECT_GT(listed.remaining_seconds(Clock::now()), 500u);
  if (GetParam() != Store::Memory) {
    EXPECT_EQ(listed.home_proxy, kHome);  // stores stamp their node
  }
}

TEST_P(ListingTest, RemoveTakesOneBindingWhateverItsCallId) {
  ASSERT_EQ(update(make_request("a1", 7, {make_binding("sip:a@192.0.2.1"),
                                          make_binding("sip:a@192.0.2.2", 3600s, 0, "<urn:uuid:2>")}))
                .status,
            UpdateStatus::Ok);
  UpdateResult by_contact = remove_on(locator(), kAlice, "sip:a@192.0.2.1");
  ASSERT_EQ(by_contact.status, UpdateStatus::Ok) << by_contact.detail;
  EXPECT_EQ(contacts_of(by_contact.removed), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_TRUE(eventually([&] { return contacts_of(lookup()) == std::vector<std::string>{"sip:a@192.0.2.2"}; }));

  UpdateResult by_instance = remove_on(locator(), kAlice, "<urn:uuid:2>");
  ASSERT_EQ(by_instance.status, UpdateStatus::Ok) << by_instance.detail;
  EXPECT_EQ(contacts_of(by_instance.removed), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_TRUE(eventually([&] { return lookup().empty(); }));
  EXPECT_EQ(list(page("", 0, 0)).total, 0u);
  EXPECT_TRUE(observer_->calls().empty()) << "an admin removal is reported by the caller, not as offline";
}

TEST_P(ListingTest, RemovingAnUnknownKeyRemovesNothing) {
  ASSERT_EQ(update(make_request("a1", 1, {make_binding("sip:a@192.0.2.1")})).status, UpdateStatus::Ok);
  UpdateResult unknown_key = remove_on(locator(), kAlice, "sip:a@192.0.2.99");
  EXPECT_EQ(unknown_key.status, UpdateStatus::Ok) << unknown_key.detail;
  EXPECT_TRUE(unknown_key.removed.empty());
  UpdateResult unknown_aor = remove_on(locator(), "sip:nobody@example.com", "sip:a@192.0.2.1");
  EXPECT_EQ(unknown_aor.status, UpdateStatus::Ok) << unknown_aor.detail;
  EXPECT_TRUE(unknown_aor.removed.empty());
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.1"});
}

}  // namespace
}  // namespace cppbx::location::conformance
