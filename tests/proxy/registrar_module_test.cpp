// RegistrarModule against the real memory locator: REGISTER requests are
// written as text, parsed with the real parser, and handed to the module in a
// fake server transaction that records the response it is asked to send.
#include "proxy/registrar_module.hpp"

#include <span>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "fake_server_transaction.hpp"
#include "location/memory_locator.hpp"
#include "sip/parser.hpp"

namespace cppbx::proxy {
namespace {

using location::Binding;

using testing::FakeServerTransaction;
using testing::RecordedResponse;

// A REGISTER as a phone would send it; tests change what they need.
struct Register {
  std::string request_uri = "sip:example.com";
  std::string to = "sip:alice@example.com";
  std::string call_id = "call-1@192.0.2.10";
  uint32_t cseq = 1;
  std::vector<std::string> extra_headers;  // whole lines without CRLF, e.g. "Contact: <sip:a@b>"

  std::string text() const {
    std::string text = "REGISTER " + request_uri + " SIP/2.0\r\n";
    text += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-" + std::to_string(cseq) + "-" +
            std::to_string(std::hash<std::string>{}(call_id)) + ";rport\r\n";
    text += "Max-Forwards: 70\r\n";
    text += "From: <" + to + ">;tag=from-tag\r\n";
    text += "To: <" + to + ">\r\n";
    text += "Call-ID: " + call_id + "\r\n";
    text += "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
    for (const std::string& line : extra_headers) text += line + "\r\n";
    text += "Content-Length: 0\r\n\r\n";
    return text;
  }
};

class RecordingObserver : public location::RegistrationObserver {
 public:
  void on_registered(std::span<const Binding> bindings) override { registered.emplace_back(bindings.begin(), bindings.end()); }
  void on_unregistered(std::span<const Binding> bindings) override { unregistered.emplace_back(bindings.begin(), bindings.end()); }
  std::vector<std::vector<Binding>> registered;
  std::vector<std::vector<Binding>> unregistered;
};

// A store that is down: every call fails.
class UnreachableLocator : public location::Locator {
 public:
  std::string_view type() const override { return "unreachable"; }
  void update(location::UpdateRequest, std::function<void(location::UpdateResult)> done) override {
    location::UpdateResult result;
    result.status = location::UpdateStatus::Error;
    result.detail = "connection refused";
    done(result);
  }
  void lookup(const std::string&, std::function<void(location::LookupResult)> done) override {
    done(location::LookupResult{false, {}, "connection refused"});
  }
  void connection_closed(transport::ConnectionId) override {}
  void set_observer(std::shared_ptr<location::LocationObserver>) override {}
  size_t binding_count() const override { return 0; }
};

RegistrarOptions test_options() {
  RegistrarOptions options;
  options.default_expires = 3600;
  options.min_expires = 60;
  options.max_expires = 7200;
  options.retry_after_seconds = 7;
  return options;
}

class RegistrarModuleTest : public ::testing::Test {
 protected:
  RegistrarModuleTest()
      : locator_(std::make_shared<location::MemoryLocator>(io_, location::MemoryLocatorOptions{})),
        identity_(std::make_shared<ServerIdentity>(std::vector<std::string>{"example.com"},
                                                   std::vector<std::string>{"10.0.0.5"}, "cppbx")),
        module_(locator_, identity_, test_options()) {
    module_.set_observer(observer_);
    spdlog::set_level(spdlog::level::warn);  // keep the test output readable
    peer_.protocol = transport::Protocol::Udp;
    peer_.address = boost::asio::ip::make_address("192.0.2.10");
    peer_.port = 5060;
  }

  // Stands for "authenticated as the user of the To URI", what the auth
  // module leaves behind for a phone registering itself.
  static constexpr const char* kToUser = "\x01to-user";

  // Runs the request through the module; returns its single response.
  RecordedResponse send(const Register& reg, std::optional<std::string> authenticated_as = kToUser) {
    auto transaction = handle(reg, authenticated_as);
    EXPECT_EQ(transaction->responses().size(), 1u);
    if (transaction->responses().empty()) return {};
    return transaction->responses().front();
  }

  std::shared_ptr<FakeServerTransaction> handle(const Register& reg,
                                                std::optional<std::string> authenticated_as = kToUser) {
    sip::ParseResult parsed = sip::parse_message(reg.text());
    EXPECT_EQ(parsed.status, sip::ParseStatus::Ok) << parsed.reason << "\n" << reg.text();
    if (!parsed.message) throw std::runtime_error("test request does not parse");
    auto transaction = std::make_shared<FakeServerTransaction>(std::move(*parsed.message), peer_);
    auto context = std::make_shared<RequestContext>();
    context->transaction = transaction;
    if (authenticated_as == kToUser) authenticated_as = std::string(transaction->request().to().uri.user);
    if (authenticated_as) context->authenticated_user = users::SipUser{.username = *authenticated_as};
    passed_on_ = false;
    module_.handle(context, [this](RequestContextPtr) { passed_on_ = true; });
    return transaction;
  }

  std::vector<Binding> stored(const std::string& aor = "sip:alice@example.com") {
    std::vector<Binding> out;
    locator_->lookup(aor, [&](location::LookupResult result) { out = std::move(result.bindings); });
    return out;
  }

  static Register with_headers(std::vector<std::string> headers, uint32_t cseq = 1) {
    Register reg;
    reg.extra_headers = std::move(headers);
    reg.cseq = cseq;
    return reg;
  }

  boost::asio::io_context io_;
  std::shared_ptr<location::MemoryLocator> locator_;
  std::shared_ptr<ServerIdentity> identity_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  RegistrarModule module_;
  transport::Peer peer_;
  bool passed_on_ = false;
};

TEST_F(RegistrarModuleTest, RegistersOneContact) {
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10:5060>"}));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10:5060>;expires=3600"});
  ASSERT_EQ(response.values("Date").size(), 1u);
  EXPECT_TRUE(response.values("Date")[0].ends_with(" GMT"));
  EXPECT_FALSE(passed_on_);
  EXPECT_EQ(locator_->binding_count(), 1u);
}

TEST_F(RegistrarModuleTest, StoresWhatTheLocationServiceNeeds) {
  Register reg = with_headers({"Contact: <sip:alice@192.0.2.10:5060>;q=0.5;+sip.instance=\"<urn:uuid:abc>\";reg-id=1",
                               "User-Agent: Zoiper 5", "Path: <sip:edge.example.com;lr>"});
  EXPECT_EQ(send(reg).code, 200);
  std::vector<Binding> bindings = stored();
  ASSERT_EQ(bindings.size(), 1u);
  const Binding& b = bindings[0];
  EXPECT_EQ(b.aor, "sip:alice@example.com");
  EXPECT_EQ(b.contact, "sip:alice@192.0.2.10:5060");
  EXPECT_EQ(b.instance_id, "<urn:uuid:abc>");
  EXPECT_EQ(b.reg_id, 1u);
  EXPECT_FLOAT_EQ(b.q, 0.5f);
  EXPECT_EQ(b.destination, peer_.to_string());
  EXPECT_EQ(b.transport, transport::Protocol::Udp);
  EXPECT_FALSE(b.supports_webrtc);
  EXPECT_EQ(b.user_agent, "Zoiper 5");
  EXPECT_EQ(b.path, std::vector<std::string>{"<sip:edge.example.com;lr>"});
  EXPECT_EQ(b.call_id, "call-1@192.0.2.10");
  EXPECT_EQ(b.cseq, 1u);
}

TEST_F(RegistrarModuleTest, EchoesContactParamsButRecomputesExpires) {
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=120;q=0.7"}));
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=120;q=0.7"});
}

TEST_F(RegistrarModuleTest, NeverEchoesGruuParams) {
  RecordedResponse response =
      send(with_headers({"Contact: <sip:alice@192.0.2.10>;pub-gruu=\"sip:x@y;gr=1\";temp-gruu=\"sip:t@y;gr\""}));
  ASSERT_EQ(response.values("Contact").size(), 1u);
  EXPECT_EQ(response.values("Contact")[0].find("gruu"), std::string::npos);
}

TEST_F(RegistrarModuleTest, RegistersTwoContactsFromOneOrSeveralHeaderLines) {
  RecordedResponse one_line = send(with_headers({"Contact: <sip:alice@192.0.2.10>, <sip:alice@192.0.2.11>"}));
  EXPECT_EQ(one_line.code, 200);
  EXPECT_EQ(one_line.values("Contact").size(), 2u);

  RecordedResponse two_lines =
      send(with_headers({"Contact: <sip:alice@192.0.2.12>", "Contact: <sip:alice@192.0.2.13>"}, 2));
  EXPECT_EQ(two_lines.code, 200);
  EXPECT_EQ(two_lines.values("Contact").size(), 4u);
  EXPECT_EQ(stored().size(), 4u);
}

TEST_F(RegistrarModuleTest, RefreshUpdatesTheExpiryOfTheSameBinding) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>"}));
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=1800"}, 2));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=1800"});
  EXPECT_EQ(locator_->binding_count(), 1u);
}

TEST_F(RegistrarModuleTest, ContactParamWinsOverExpiresHeaderWhichWinsOverDefault) {
  RecordedResponse response = send(with_headers(
      {"Contact: <sip:alice@192.0.2.10>;expires=120, <sip:alice@192.0.2.11>", "Expires: 300"}));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"),
            (std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=120", "<sip:alice@192.0.2.11>;expires=300"}));

  Register bob = with_headers({"Contact: <sip:bob@192.0.2.20>"});
  bob.to = "sip:bob@example.com";
  EXPECT_EQ(send(bob).values("Contact"), std::vector<std::string>{"<sip:bob@192.0.2.20>;expires=3600"});
}

TEST_F(RegistrarModuleTest, ExpiresZeroRemovesOneBinding) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>, <sip:alice@192.0.2.11>"}));
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=0"}, 2));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.11>;expires=3600"});
  ASSERT_EQ(observer_->unregistered.size(), 1u);
  EXPECT_EQ(observer_->unregistered[0].at(0).contact, "sip:alice@192.0.2.10");
}

TEST_F(RegistrarModuleTest, ExpiresHeaderZeroRemovesTheListedContact) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>"}));
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>", "Expires: 0"}, 2));
  EXPECT_EQ(response.code, 200);
  EXPECT_TRUE(response.values("Contact").empty());
  EXPECT_TRUE(stored().empty());
}

TEST_F(RegistrarModuleTest, StarWithExpiresZeroRemovesAll) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>, <sip:alice@192.0.2.11>"}));
  RecordedResponse response = send(with_headers({"Contact: *", "Expires: 0"}, 2));
  EXPECT_EQ(response.code, 200);
  EXPECT_TRUE(response.values("Contact").empty());
  EXPECT_EQ(locator_->binding_count(), 0u);
  ASSERT_EQ(observer_->unregistered.size(), 1u);
  EXPECT_EQ(observer_->unregistered[0].size(), 2u);
}

TEST_F(RegistrarModuleTest, StarWithOtherContactsIsRefused) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>"}));
  // On two lines: the parser itself already rejects "*, <uri>" in one value.
  RecordedResponse response =
      send(with_headers({"Contact: *", "Contact: <sip:alice@192.0.2.11>", "Expires: 0"}, 2));
  EXPECT_EQ(response.code, 400);
  EXPECT_EQ(stored().size(), 1u);
}

TEST_F(RegistrarModuleTest, StarWithoutExpiresZeroIsRefused) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>"}));
  EXPECT_EQ(send(with_headers({"Contact: *"}, 2)).code, 400);
  EXPECT_EQ(send(with_headers({"Contact: *", "Expires: 60"}, 3)).code, 400);
  EXPECT_EQ(stored().size(), 1u);
}

TEST_F(RegistrarModuleTest, TooBriefIntervalGets423WithMinExpires) {
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=30"}));
  EXPECT_EQ(response.code, 423);
  EXPECT_EQ(response.values("Min-Expires"), std::vector<std::string>{"60"});
  EXPECT_EQ(locator_->binding_count(), 0u);
}

TEST_F(RegistrarModuleTest, OneTooBriefContactRefusesTheWholeRequest) {
  RecordedResponse response =
      send(with_headers({"Contact: <sip:alice@192.0.2.10>, <sip:alice@192.0.2.11>;expires=59"}));
  EXPECT_EQ(response.code, 423);
  EXPECT_TRUE(stored().empty());
}

TEST_F(RegistrarModuleTest, LongIntervalIsClampedToTheMaximum) {
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>", "Expires: 100000"}));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=7200"});
}

TEST_F(RegistrarModuleTest, RequestWithoutContactQueriesTheBindings) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=600"}));
  RecordedResponse response = send(with_headers({}, 2));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=600"});
  EXPECT_EQ(observer_->registered.size(), 1u);  // the query registered nothing

  Register nobody;
  nobody.to = "sip:nobody@example.com";
  RecordedResponse empty = send(nobody);
  EXPECT_EQ(empty.code, 200);
  EXPECT_TRUE(empty.values("Contact").empty());
}

TEST_F(RegistrarModuleTest, InstanceIdKeepsOneBindingWhenTheContactUriChanges) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10:5060>;+sip.instance=\"<urn:uuid:f81d4fae>\""}));
  RecordedResponse response = send(
      with_headers({"Contact: <sip:alice@198.51.100.4:6000>;+sip.instance=\"<urn:uuid:f81d4fae>\""}, 2));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"),
            std::vector<std::string>{"<sip:alice@198.51.100.4:6000>;expires=3600;+sip.instance=\"<urn:uuid:f81d4fae>\""});
  EXPECT_EQ(locator_->binding_count(), 1u);
}

TEST_F(RegistrarModuleTest, AuthenticatedUserMayOnlyRegisterTheirOwnAoR) {
  Register reg = with_headers({"Contact: <sip:bob@192.0.2.10>"});
  reg.to = "sip:bob@example.com";
  RecordedResponse response = send(reg, "alice");
  EXPECT_EQ(response.code, 403);
  EXPECT_EQ(response.reason, "Forbidden: not your AoR");
  EXPECT_EQ(locator_->binding_count(), 0u);

  reg.cseq = 2;
  EXPECT_EQ(send(reg, "bob").code, 200);
}

TEST_F(RegistrarModuleTest, RegisterWithoutAnAuthenticatedUserIsRefused) {
  RecordedResponse response = send(with_headers({"Contact: <sip:evil@203.0.113.66>"}), std::nullopt);
  EXPECT_EQ(response.code, 403);
  EXPECT_EQ(locator_->binding_count(), 0u);
  EXPECT_FALSE(passed_on_);
}

TEST_F(RegistrarModuleTest, AoRWithPortIsTheSameAsWithout) {
  Register with_port = with_headers({"Contact: <sip:alice@192.0.2.10>"});
  with_port.request_uri = "sip:10.0.0.5:5060";
  with_port.to = "sip:alice@10.0.0.5:5060";
  EXPECT_EQ(send(with_port).code, 200);

  Register without_port = with_headers({}, 2);
  without_port.request_uri = "sip:10.0.0.5";
  without_port.to = "sip:alice@10.0.0.5";
  RecordedResponse response = send(without_port);
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=3600"});
  EXPECT_EQ(stored("sip:alice@10.0.0.5").size(), 1u);
}

TEST_F(RegistrarModuleTest, OlderOrEqualCSeqOfTheSameCallIdIsRefused) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=600"}, 5));
  for (uint32_t cseq : {5u, 4u}) {
    RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=0"}, cseq));
    EXPECT_EQ(response.code, 400) << "cseq " << cseq;
    EXPECT_EQ(response.reason, "Out of order CSeq");
  }
  EXPECT_EQ(stored().size(), 1u);
}

TEST_F(RegistrarModuleTest, OtherMethodsArePassedOn) {
  Register options = with_headers({});
  std::string text = options.text();
  text.replace(0, 8, "OPTIONS");
  auto cseq_at = text.find("1 REGISTER");
  text.replace(cseq_at, 10, "1 OPTIONS");
  sip::ParseResult parsed = sip::parse_message(text);
  ASSERT_EQ(parsed.status, sip::ParseStatus::Ok) << parsed.reason;
  auto transaction = std::make_shared<FakeServerTransaction>(std::move(*parsed.message), peer_);
  auto context = std::make_shared<RequestContext>();
  context->transaction = transaction;
  module_.handle(context, [this](RequestContextPtr) { passed_on_ = true; });
  EXPECT_TRUE(passed_on_);
  EXPECT_TRUE(transaction->responses().empty());
}

TEST_F(RegistrarModuleTest, ForeignDomainIsRefused) {
  Register reg = with_headers({"Contact: <sip:alice@192.0.2.10>"});
  reg.request_uri = "sip:elsewhere.org";
  EXPECT_EQ(send(reg).code, 403);

  Register foreign_aor = with_headers({"Contact: <sip:alice@192.0.2.10>"});
  foreign_aor.to = "sip:alice@elsewhere.org";
  EXPECT_EQ(send(foreign_aor).code, 404);
  EXPECT_EQ(locator_->binding_count(), 0u);
}

TEST_F(RegistrarModuleTest, MalformedExpiresCountsAs3600) {
  // RFC 3261 20.19. The Expires header (300) must not be used instead.
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=-1", "Expires: 300"}));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=3600"});

  Register bob = with_headers({"Contact: <sip:bob@192.0.2.20>", "Expires: soon"});
  bob.to = "sip:bob@example.com";
  EXPECT_EQ(send(bob).values("Contact"), std::vector<std::string>{"<sip:bob@192.0.2.20>;expires=3600"});
}

TEST_F(RegistrarModuleTest, HugeExpiresIsClampedNotRefused) {
  RecordedResponse response = send(with_headers({"Contact: <sip:alice@192.0.2.10>;expires=99999999999"}));
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.values("Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10>;expires=7200"});
}

TEST_F(RegistrarModuleTest, ReportsRegisteredBindingsToTheObserver) {
  send(with_headers({"Contact: <sip:alice@192.0.2.10>"}));
  ASSERT_EQ(observer_->registered.size(), 1u);
  EXPECT_EQ(observer_->registered[0].at(0).aor, "sip:alice@example.com");
  EXPECT_TRUE(observer_->unregistered.empty());
}

TEST_F(RegistrarModuleTest, LogsRegistrationsWithoutContactPasswords) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  spdlog::set_level(spdlog::level::info);
  send(with_headers({"Contact: <sip:alice:s3cret@192.0.2.10>"}));
  send(with_headers({"Contact: <sip:alice:s3cret@192.0.2.10>;expires=0"}, 2));
  spdlog::set_default_logger(previous);
  spdlog::set_level(spdlog::level::warn);
  EXPECT_NE(log.str().find("registered aor=sip:alice@example.com contact=sip:alice:***@192.0.2.10 expires=3600 from="),
            std::string::npos) << log.str();
  EXPECT_NE(log.str().find("unregistered aor=sip:alice@example.com"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("s3cret"), std::string::npos) << log.str();
}

TEST_F(RegistrarModuleTest, WebSocketPeerSupportsWebRtc) {
  peer_.protocol = transport::Protocol::Wss;
  peer_.connection = 42;
  send(with_headers({"Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>"}));
  std::vector<Binding> bindings = stored();
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_TRUE(bindings[0].supports_webrtc);
  EXPECT_EQ(bindings[0].connection, 42u);
  locator_->connection_closed(42);
  EXPECT_TRUE(stored().empty());
}

TEST(RegistrarModuleUnavailable, LocatorErrorGives503WithRetryAfter) {
  auto identity = std::make_shared<ServerIdentity>(std::vector<std::string>{}, std::vector<std::string>{}, "");
  RegistrarModule module(std::make_shared<UnreachableLocator>(), identity, test_options());
  for (std::string contact : {"Contact: <sip:alice@192.0.2.10>", ""}) {
    Register reg;
    if (!contact.empty()) reg.extra_headers.push_back(contact);
    sip::ParseResult parsed = sip::parse_message(reg.text());
    ASSERT_EQ(parsed.status, sip::ParseStatus::Ok) << parsed.reason;
    auto transaction = std::make_shared<FakeServerTransaction>(std::move(*parsed.message), transport::Peer{});
    auto context = std::make_shared<RequestContext>();
    context->transaction = transaction;
    context->authenticated_user = users::SipUser{.username = "alice"};
    module.handle(context, [](RequestContextPtr) {});
    ASSERT_EQ(transaction->responses().size(), 1u);
    EXPECT_EQ(transaction->responses()[0].code, 503);
    EXPECT_EQ(transaction->responses()[0].values("Retry-After"), std::vector<std::string>{"7"});
  }
}

TEST(RegistrarOptionsTest, ComesFromTheProxyConfig) {
  config::ProxyConfig config;
  config.registrar_expires = 120;
  config.registrar_min_expires = 30;
  config.registrar_max_expires = 900;
  RegistrarOptions options = RegistrarOptions::from(config);
  EXPECT_EQ(options.default_expires, 120u);
  EXPECT_EQ(options.min_expires, 30u);
  EXPECT_EQ(options.max_expires, 900u);
}

}  // namespace
}  // namespace cppbx::proxy
