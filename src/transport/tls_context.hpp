// OpenSSL contexts of the TLS and WSS transports. TLS 1.2 is the oldest
// version offered either way (RFC 8996 retired 1.0 and 1.1).
//
// Outgoing flows do not verify the server's certificate yet: SIP servers on
// private networks mostly use self-signed certificates, and a Peer carries
// no host name to verify against (nor to send as SNI). docs/configuration.md
// says so.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace cppbx::transport {

// Loads the PEM certificate chain and private key and checks they belong
// together. Throws std::runtime_error naming the file and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& certificate_file,
                                                                   const std::string& private_key_file);

std::shared_ptr<boost::asio::ssl::context> make_client_tls_context();

// The problem make_server_tls_context would throw, or "" when the files load:
// for --check-config, which must not start anything.
std::string tls_files_problem(const std::string& certificate_file, const std::string& private_key_file);

}  // namespace cppbx::transport
