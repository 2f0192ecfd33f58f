// The TLS and WebSocket keys: tls_port, ws_port, ws_handler, ssl_certificate
// and ssl_private_key (top level or [proxy], [proxy] wins). The loader checks
// the files without a TLS library (present, readable, PEM of the right kind);
// the PEM text below is a header pair, enough for that check. Whether a key
// matches its certificate is the transport's check (tests/transport).
#include "config_test_support.hpp"

namespace cppbx::config::testing {
namespace {

constexpr const char* kCertificatePem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr const char* kKeyPem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

class TlsKeysTest : public ConfigFileTest {
 protected:
  std::string certificate(const std::string& name = "cert.pem") { return write(kCertificatePem, name); }
  std::string key(const std::string& name = "key.pem") { return write(kKeyPem, name); }
};

TEST_F(TlsKeysTest, ListenersAndTopLevelFilesAreReadWithoutWarnings) {
  Config c = load("ssl_certificate = \"" + certificate() + "\"\nssl_private_key = \"" + key() +
                  "\"\n[proxy]\ntls_port = 5061\nws_port = 8089\nws_handler = \"/sip-ws\"\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.tls_port, std::optional<uint16_t>(5061));
  EXPECT_EQ(c.proxy.ws_port, std::optional<uint16_t>(8089));
  EXPECT_EQ(c.proxy.ws_handler, "/sip-ws");
  EXPECT_EQ(c.proxy.ssl_certificate, (dir_ / "cert.pem").string());
  EXPECT_EQ(c.proxy.ssl_private_key, (dir_ / "key.pem").string());
}

TEST_F(TlsKeysTest, ProxyFilesWinOverTopLevelOnes) {
  std::string top_certificate = certificate("top-cert.pem");
  std::string top_key = key("top-key.pem");
  std::string proxy_certificate = certificate("proxy-cert.pem");
  Config c = load("ssl_certificate = \"" + top_certificate + "\"\nssl_private_key = \"" + top_key +
                  "\"\n[proxy]\nssl_certificate = \"" + proxy_certificate + "\"\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.ssl_certificate, proxy_certificate);
  EXPECT_EQ(c.proxy.ssl_private_key, top_key);  // key by key
  EXPECT_EQ(c.ssl_certificate, top_certificate);
}

TEST_F(TlsKeysTest, WebSocketWithoutCertificateIsPlainAndFine) {
  Config c = load("[proxy]\nws_port = 8089\n");
  EXPECT_TRUE(diagnostics_.all().empty()) << all_text();
  EXPECT_EQ(c.proxy.ws_handler, "/ws");
  EXPECT_TRUE(c.proxy.ssl_certificate.empty());
}

TEST_F(TlsKeysTest, TlsPortWithoutCertificateIsAnError) {
  load("[proxy]\ntls_port = 5061\n");
  auto found = about("proxy.tls_port");
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].severity, Diagnostic::Severity::Error);
  EXPECT_NE(found[0].message.find("ssl_certificate"), std::string::npos);
  EXPECT_EQ(found[0].where.line, 2u);
}

TEST_F(TlsKeysTest, MissingUnreadableOrWrongKindOfFileIsAnErrorNamingTheKey) {
  std::string absent = (dir_ / "absent.pem").string();
  load("[proxy]\nssl_certificate = \"" + absent + "\"\nssl_private_key = \"" + certificate("swapped.pem") +
       "\"\n");
  auto on_certificate = about("proxy.ssl_certificate");
  ASSERT_EQ(on_certificate.size(), 1u) << all_text();
  EXPECT_NE(on_certificate[0].message.find("absent.pem"), std::string::npos);
  EXPECT_EQ(on_certificate[0].where.line, 2u);
  auto on_key = about("proxy.ssl_private_key");
  ASSERT_EQ(on_key.size(), 1u) << all_text();
  EXPECT_NE(on_key[0].message.find("no PEM private key"), std::string::npos) << on_key[0].message;
}

TEST_F(TlsKeysTest, CertificateWithoutKeyIsAnError) {
  load("ssl_certificate = \"" + certificate() + "\"\n");
  auto found = about("ssl_certificate");
  ASSERT_EQ(found.size(), 1u) << all_text();
  EXPECT_EQ(found[0].severity, Diagnostic::Severity::Error);
  EXPECT_NE(found[0].message.find("ssl_private_key is missing"), std::string::npos);
}

TEST_F(TlsKeysTest, WrongTypesAndBadPathsAreErrorsAtTheirPosition) {
  load("ssl_certificate = 5\n[proxy]\ntls_port = \"5061\"\nws_port = 70000\nws_handler = \"ws\"\n");
  for (const char* key : {"ssl_certificate", "proxy.tls_port", "proxy.ws_port", "proxy.ws_handler"}) {
    auto found = about(key);
    ASSERT_FALSE(found.empty()) << key << "\n" << all_text();
    EXPECT_EQ(found[0].severity, Diagnostic::Severity::Error) << key;
    EXPECT_GT(found[0].where.line, 0u) << key;
  }
  EXPECT_TRUE(warnings().empty()) << all_text();
}

}  // namespace
}  // namespace cppbx::config::testing
