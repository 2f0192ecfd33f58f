// Branch and tag generation. A per-thread Mersenne Twister seeded once from
// std::random_device gives unpredictable-enough identifiers without a system
// call per identifier (they must be unique, not secret).
#include <array>
#include <random>
#include <string>

#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {

namespace {

constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return engine;
}

// Appends `Count` random characters; ~5.95 bits each. They are drawn into a
// buffer first so the string grows once.
template <size_t Count>
void append_random(std::string& out) {
  std::array<char, Count> chars{};
  auto& engine = generator();
  uint64_t bits = 0;
  size_t left = 0;  // 62^10 < 2^64: ten characters per draw
  for (size_t i = 0; i < Count; ++i) {
    if (left == 0) {
      bits = engine();
      left = 10;
    }
    chars[i] = kAlphabet[bits % kAlphabet.size()];
    bits /= kAlphabet.size();
    --left;
  }
  out.append(chars.data(), Count);
}

}  // namespace

std::string new_branch() {
  std::string branch = "z9hG4bK";
  branch.reserve(7 + 22);
  append_random<22>(branch);
  return branch;
}

// 15 characters (~89 bits) still fit the small-string buffer: no allocation.
std::string new_tag() {
  std::string tag;
  append_random<15>(tag);
  return tag;
}

}  // namespace cppbx::transaction
