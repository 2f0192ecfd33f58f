// Digest hashing against the published examples of RFC 7616 section 3.9.1
// (user "Mufasa", password "Circle of Life", GET /dir/index.html), and the
// properties the server relies on: case-insensitive, constant-time compare.
#include <gtest/gtest.h>

#include "auth/digest.hpp"

namespace cppbx::auth {
namespace {

constexpr std::string_view kRealm = "http-auth@example.org";
constexpr std::string_view kNonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr std::string_view kCnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

std::string rfc7616_response(DigestAlgorithm algorithm) {
  std::string ha1 = compute_ha1(algorithm, "Mufasa", kRealm, "Circle of Life");
  return compute_response(algorithm,
                          {ha1, kNonce, "GET", "/dir/index.html", "auth", "00000001", kCnonce});
}

TEST(Digest, Rfc7616Md5Example) {
  EXPECT_EQ(rfc7616_response(DigestAlgorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
}

TEST(Digest, Rfc7616Sha256Example) {
  EXPECT_EQ(rfc7616_response(DigestAlgorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST(Digest, Rfc2617StyleWithoutQop) {
  // RFC 2069 form: H(HA1:nonce:HA2), the classic "testrealm@host.com" example.
  std::string ha1 = compute_ha1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com", "CircleOfLife");
  std::string response = compute_response(
      DigestAlgorithm::Md5, {ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET", "/dir/index.html", "", "", ""});
  EXPECT_EQ(response, "1949323746fe6a43ef61f9606e7febea");
}

// Parts are joined in a 1024-byte buffer; longer input is hashed part by part
// and must give the same digest (reference values from Python's hashlib).
TEST(Digest, InputAtAndBeyondTheJoinBufferHashesTheSame) {
  auto ha1_with_password_of = [](size_t length) {
    return std::string(compute_ha1(DigestAlgorithm::Md5, "alice", "example.com", std::string(length, 'x')));
  };
  EXPECT_EQ(ha1_with_password_of(1006), "d9376b7211020c301a15d925405b7515");  // exactly 1024 bytes
  EXPECT_EQ(ha1_with_password_of(1007), "7d8faf0ca59d12dcf3042822fe5ab558");
  EXPECT_EQ(ha1_with_password_of(2000), "709c2044d60096751e28a4e4a228a229");
  auto sha256_ha1_with_password_of = [](size_t length) {
    return std::string(compute_ha1(DigestAlgorithm::Sha256, "alice", "example.com", std::string(length, 'x')));
  };
  EXPECT_EQ(sha256_ha1_with_password_of(1007), "cba55e3bf4526f68f98da97d718423a9b10d5b84801b37abf591838c27be26f7");
  EXPECT_EQ(sha256_ha1_with_password_of(2000), "578d9413e86f80e5e93d8c1088f0a4de637daf3379a5a038e0033b007b594b1a");
}

TEST(Digest, KnownHashes) {
  EXPECT_EQ(hash_joined(DigestAlgorithm::Md5, {""}), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hash_joined(DigestAlgorithm::Sha256, {"abc"}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // SHA-512/256("abc") from FIPS 180-4 examples.
  EXPECT_EQ(hash_joined(DigestAlgorithm::Sha512_256, {"abc"}),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  // Parts are joined with ':'.
  EXPECT_EQ(hash_joined(DigestAlgorithm::Md5, {"a", "b"}), hash_joined(DigestAlgorithm::Md5, {"a:b"}));
}

TEST(Digest, AlgorithmNames) {
  EXPECT_EQ(parse_algorithm("md5"), DigestAlgorithm::Md5);
  EXPECT_EQ(parse_algorithm("SHA-256"), DigestAlgorithm::Sha256);
  EXPECT_EQ(parse_algorithm("sha-512-256"), DigestAlgorithm::Sha512_256);
  EXPECT_FALSE(parse_algorithm("MD5-sess"));
  EXPECT_FALSE(parse_algorithm(""));
  EXPECT_EQ(algorithm_name(DigestAlgorithm::Sha256), "SHA-256");
  EXPECT_EQ(hex_digest_length(DigestAlgorithm::Md5), 32u);
  EXPECT_EQ(hex_digest_length(DigestAlgorithm::Sha512_256), 64u);
}

TEST(Digest, HexCompareIgnoresCaseAndRejectsDifferences) {
  EXPECT_TRUE(hex_digests_equal("8ca523f5e9506fed4657c9700eebdbec", "8CA523F5E9506FED4657C9700EEBDBEC"));
  EXPECT_FALSE(hex_digests_equal("8ca523f5e9506fed4657c9700eebdbec", "8ca523f5e9506fed4657c9700eebdbed"));
  EXPECT_FALSE(hex_digests_equal("8ca523f5e9506fed4657c9700eebdbec", "8ca523f5e9506fed4657c9700eebdbe"));
  EXPECT_FALSE(hex_digests_equal("", ""));
}

}  // namespace
}  // namespace cppbx::auth
