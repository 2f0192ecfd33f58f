// Self-signed certificates for tests of TLS and WSS, generated with OpenSSL 3's
// EVP API in a fresh temporary folder (removed by the destructor), so no test
// depends on a file checked in or on the openssl command. The key is EC P-256:
// quick to generate, accepted by every TLS 1.2+ stack.
#pragma once

#include <string>

namespace cppbx::test {

class TestCertificate {
 public:
  // Writes certificate.pem and private_key.pem for `common_name`, with
  // subjectAltName DNS:localhost and IP:127.0.0.1. Throws std::runtime_error
  // when OpenSSL or the file system fails.
  explicit TestCertificate(const std::string& common_name = "localhost");
  ~TestCertificate();
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  const std::string& certificate_file() const { return certificate_file_; }
  const std::string& private_key_file() const { return private_key_file_; }
  const std::string& folder() const { return folder_; }

 private:
  std::string folder_;
  std::string certificate_file_;
  std::string private_key_file_;
};

}  // namespace cppbx::test
