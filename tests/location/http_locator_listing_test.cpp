// The http locator's listing request as a service sees it (the recording
// service keeps each request's query) and its answers when the service
// cannot list: 404/405/501 mean "not supported", other statuses and
// answers of the wrong shape mean the store did not answer; both are
// ok=false with a detail, never a crash or an empty success. (Listing a
// service that lists is in locator_listing_test.cpp, on every store.)
#include <future>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "../support/python_service.hpp"
#include "location/http_locator.hpp"

namespace cppbx::location {
namespace {

using namespace std::chrono_literals;

class HttpLocatorListingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(service_.running()); }

  ListResult list_at(const std::string& path, ListRequest request) {
    HttpLocatorOptions options;
    options.url = service_.url(path);
    options.timeout = 2000ms;
    HttpLocator locator(io_, options);
    locator.start();
    std::promise<ListResult> answer;
    auto future = answer.get_future();
    locator.list(std::move(request), [&](ListResult r) { answer.set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    ListResult result = future.get();
    locator.stop();
    return result;
  }

  boost::asio::io_context io_;
  cppbx::test::PythonService service_{"recorder_service.py"};
};

TEST_F(HttpLocatorListingTest, SendsTheFilterAndThePageAsQueryParameters) {
  ListRequest request;
  request.aor_contains = "Alice & Bob";
  request.offset = 20;
  request.limit = 10;
  list_at("/status/404", request);
  auto requests = service_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["method"], "GET");
  EXPECT_EQ(requests[0]["query"], "list=1&aor_contains=Alice%20%26%20Bob&offset=20&limit=10");
}

TEST_F(HttpLocatorListingTest, AServiceWithoutListingSaysSo) {
  for (const char* path : {"/status/404", "/status/405", "/status/501"}) {
    ListResult result = list_at(path, {});
    EXPECT_FALSE(result.ok) << path;
    EXPECT_NE(result.detail.find("listing not supported"), std::string::npos) << result.detail;
  }
}

TEST_F(HttpLocatorListingTest, OtherFailuresAreTheStoreNotAnswering) {
  ListResult failed = list_at("/status/500", {});
  EXPECT_FALSE(failed.ok);
  EXPECT_NE(failed.detail.find("HTTP status 500"), std::string::npos) << failed.detail;
  ListResult wrong_shape = list_at("/status/200", {});  // answers an object without "locations"
  EXPECT_FALSE(wrong_shape.ok);
  EXPECT_TRUE(wrong_shape.bindings.empty());
  HttpLocatorOptions options;
  options.url = service_.url("/status/200");
  HttpLocator never_started(io_, options);
  bool answered = false;
  never_started.list({}, [&](ListResult r) {
    answered = true;
    EXPECT_FALSE(r.ok);
  });
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace cppbx::location
