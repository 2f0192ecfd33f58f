// ProxyCore: the checks every request passes before the modules, and the
// pipeline's order and asynchronous continuation.
#include "proxy/proxy_core.hpp"

#include <gtest/gtest.h>

#include "fake_server_transaction.hpp"

namespace cppbx::proxy {
namespace {

using testing::FakeServerTransaction;
using testing::make_fake_transaction;

std::string request(std::string_view method, std::string_view request_uri,
                    std::string extra_headers = "", int max_forwards = 70) {
  std::string text = std::string(method) + " " + std::string(request_uri) + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-core-1;rport\r\n";
  text += "Max-Forwards: " + std::to_string(max_forwards) + "\r\n";
  text += "From: <sip:alice@example.com>;tag=from-1\r\n";
  text += "To: <sip:bob@example.com>\r\n";
  text += "Call-ID: core-test@192.0.2.10\r\n";
  text += "CSeq: 1 " + std::string(method) + "\r\n";
  text += extra_headers;
  text += "Content-Length: 0\r\n\r\n";
  return text;
}

// Records the order modules saw the request and optionally holds it.
class RecordingModule : public Module {
 public:
  RecordingModule(std::string name, std::vector<std::string>& trace, bool hold = false)
      : name_(std::move(name)), trace_(trace), hold_(hold) {}
  std::string_view name() const override { return name_; }
  void handle(RequestContextPtr context, Next next) override {
    trace_.push_back(name_);
    if (hold_) {
      held_context = std::move(context);
      held_next = std::move(next);
      return;
    }
    next(std::move(context));
  }
  RequestContextPtr held_context;
  Next held_next;

 private:
  std::string name_;
  std::vector<std::string>& trace_;
  bool hold_;
};

class ProxyCoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<ServerIdentity> identity_ = std::make_shared<ServerIdentity>(
      std::vector<std::string>{"example.com"}, std::vector<std::string>{"192.0.2.1"}, "cppbx");
  std::vector<std::string> trace_;

  std::shared_ptr<FakeServerTransaction> run(ProxyCore& core, const std::string& text) {
    auto transaction = make_fake_transaction(text);
    EXPECT_TRUE(transaction) << text;
    if (transaction) core.on_request(transaction);
    return transaction;
  }
};

TEST_F(ProxyCoreTest, OptionsToTheServerGets200WithAllowAcceptSupported) {
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("auth", trace_)});
  auto tx = run(core, request("OPTIONS", "sip:example.com"));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 200);
  EXPECT_FALSE(tx->responses()[0].values("Allow").empty());
  EXPECT_EQ(tx->responses()[0].values("Accept"), std::vector<std::string>{"application/sdp"});
  EXPECT_FALSE(tx->responses()[0].values("Supported").empty());
  EXPECT_TRUE(trace_.empty()) << "OPTIONS to the server must not be challenged";
}

TEST_F(ProxyCoreTest, OptionsToAnOwnAddressIsForTheServerToo) {
  ProxyCore core(identity_, {});
  auto tx = run(core, request("OPTIONS", "sip:192.0.2.1:5060"));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 200);
}

TEST_F(ProxyCoreTest, UnknownRequireOnRegisterGets420ListingTheTags) {
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("registrar", trace_)});
  auto tx = run(core, request("REGISTER", "sip:example.com", "Require: path, foo-bar, baz\r\n"));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 420);
  EXPECT_EQ(tx->responses()[0].values("Unsupported"), std::vector<std::string>{"foo-bar, baz"});
  EXPECT_TRUE(trace_.empty());
}

TEST_F(ProxyCoreTest, SupportedRequireTagPasses) {
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("registrar", trace_)});
  auto tx = run(core, request("REGISTER", "sip:example.com", "Require: PATH\r\n"));
  EXPECT_EQ(trace_, std::vector<std::string>{"registrar"});
}

TEST_F(ProxyCoreTest, ExhaustedMaxForwardsToAUserGets483) {
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("auth", trace_)});
  auto tx = run(core, request("INVITE", "sip:bob@example.com", "", 0));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 483);
  EXPECT_TRUE(trace_.empty());
}

TEST_F(ProxyCoreTest, MaxForwardsZeroOnRegisterIsStillHandled) {
  // The registrar answers as a UAS; Max-Forwards only limits forwarding.
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("registrar", trace_)});
  run(core, request("REGISTER", "sip:example.com", "", 0));
  EXPECT_EQ(trace_, std::vector<std::string>{"registrar"});
}

TEST_F(ProxyCoreTest, UnknownProxyRequireOnAForwardedRequestGets420) {
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("auth", trace_)});
  auto tx = run(core, request("MESSAGE", "sip:bob@example.com", "Proxy-Require: sec-agree\r\n"));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 420);
  EXPECT_EQ(tx->responses()[0].values("Unsupported"), std::vector<std::string>{"sec-agree"});
}

TEST_F(ProxyCoreTest, ModulesRunInOrderAndMayContinueLater) {
  auto holder = std::make_shared<RecordingModule>("auth", trace_, /*hold=*/true);
  ProxyCore core(identity_, {std::make_shared<RecordingModule>("acl", trace_), holder,
                             std::make_shared<RecordingModule>("registrar", trace_)});
  auto tx = run(core, request("MESSAGE", "sip:bob@example.com"));
  EXPECT_EQ(trace_, (std::vector<std::string>{"acl", "auth"}));
  EXPECT_TRUE(tx->responses().empty());
  // As a backend answering from another thread would.
  holder->held_next(holder->held_context);
  EXPECT_EQ(trace_, (std::vector<std::string>{"acl", "auth", "registrar"}));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 405) << "without a call module: method not allowed for users";
}

TEST_F(ProxyCoreTest, ForeignDomainIsNotRelayed) {
  ProxyCore core(identity_, {});
  auto tx = run(core, request("MESSAGE", "sip:carol@elsewhere.example.org"));
  ASSERT_EQ(tx->responses().size(), 1u);
  EXPECT_EQ(tx->responses()[0].code, 403);
}

}  // namespace
}  // namespace cppbx::proxy
