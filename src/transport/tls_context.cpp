// See tls_context.hpp. Errors carry the file name and OpenSSL's reason but
// never the key's contents.
#include "transport/tls_context.hpp"

#include <stdexcept>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>

namespace cppbx::transport {

namespace ssl = boost::asio::ssl;

namespace {

void require_tls12(ssl::context& context) {
  if (SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION) != 1) {
    throw std::runtime_error("cannot restrict TLS to version 1.2 and later");
  }
  context.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
}

std::string key_mismatch(const std::string& certificate_file, const std::string& private_key_file) {
  return "the TLS private key '" + private_key_file + "' (ssl_private_key) does not match the certificate '" +
         certificate_file + "' (ssl_certificate)";
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const std::string& certificate_file,
                                                      const std::string& private_key_file) {
  if (certificate_file.empty()) throw std::runtime_error("TLS needs ssl_certificate (none configured)");
  if (private_key_file.empty()) throw std::runtime_error("TLS needs ssl_private_key (none configured)");
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  require_tls12(*context);
  boost::system::error_code ec;
  context->use_certificate_chain_file(certificate_file, ec);
  if (ec) {
    throw std::runtime_error("cannot load the TLS certificate (ssl_certificate) '" + certificate_file +
                             "': " + ec.message());
  }
  context->use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    throw std::runtime_error(key_mismatch(certificate_file, private_key_file));
  }
  if (ec) {
    throw std::runtime_error("cannot load the TLS private key (ssl_private_key) '" + private_key_file +
                             "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    throw std::runtime_error(key_mismatch(certificate_file, private_key_file));
  }
  return context;
}

std::shared_ptr<ssl::context> make_client_tls_context() {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  require_tls12(*context);
  context->set_verify_mode(ssl::verify_none);
  return context;
}

std::string tls_files_problem(const std::string& certificate_file, const std::string& private_key_file) {
  try {
    make_server_tls_context(certificate_file, private_key_file);
    return {};
  } catch (const std::exception& error) {
    return error.what();
  }
}

}  // namespace cppbx::transport
