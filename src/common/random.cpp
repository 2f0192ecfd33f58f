// getrandom(2) is used directly: it blocks only until the kernel pool is
// initialised at boot, and never returns predictable data afterwards.
// std::random_device is the fallback should the syscall be unavailable.
#include "common/random.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <string_view>

namespace cppbx::random {
namespace {

constexpr std::string_view kAlphanumeric =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

void fill_from_random_device(uint8_t* out, size_t count) {
  std::random_device device;
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(device());
}

void fill_secure(uint8_t* out, size_t count) {
  size_t filled = 0;
  while (filled < count) {
    ssize_t got = ::getrandom(out + filled, count - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      fill_from_random_device(out + filled, count - filled);
      return;
    }
    filled += static_cast<size_t>(got);
  }
}

struct Reserve {
  static constexpr size_t kSize = 256;
  std::array<uint8_t, kSize> bytes{};
  size_t used = kSize;  // empty until first use
};

}  // namespace

void fill_secure_buffered(uint8_t* out, size_t count) {
  thread_local Reserve reserve;
  while (count > 0) {
    if (reserve.used == Reserve::kSize) {
      fill_secure(reserve.bytes.data(), Reserve::kSize);
      reserve.used = 0;
    }
    size_t take = std::min(count, Reserve::kSize - reserve.used);
    uint8_t* from = reserve.bytes.data() + reserve.used;
    std::memcpy(out, from, take);
    std::memset(from, 0, take);
    reserve.used += take;
    out += take;
    count -= take;
  }
}

std::vector<uint8_t> secure_bytes(size_t count) {
  std::vector<uint8_t> bytes(count);
  fill_secure(bytes.data(), bytes.size());
  return bytes;
}

std::string alphanumeric(size_t length) {
  // 62 symbols: bytes >= 248 (= 4 * 62) are discarded so that the modulo
  // does not favour the first characters.
  constexpr unsigned kLimit = 256 - (256 % kAlphanumeric.size());
  std::string result;
  result.reserve(length);
  while (result.size() < length) {
    for (uint8_t byte : secure_bytes(length - result.size() + 8)) {
      if (byte >= kLimit) continue;
      result.push_back(kAlphanumeric[byte % kAlphanumeric.size()]);
      if (result.size() == length) break;
    }
  }
  return result;
}

std::string hex(size_t byte_count) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string result;
  result.reserve(byte_count * 2);
  for (uint8_t byte : secure_bytes(byte_count)) {
    result.push_back(kDigits[byte >> 4]);
    result.push_back(kDigits[byte & 0x0f]);
  }
  return result;
}

}  // namespace cppbx::random
