// Cryptographically secure random values (passwords, nonces, tags).
//
// Backed by the kernel CSPRNG (getrandom), never by a seeded PRNG, so the
// results are safe for secrets. Characters are drawn by rejection sampling so
// that every character of the alphabet is equally likely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cppbx::random {

// Fills `count` bytes from the kernel CSPRNG.
std::vector<uint8_t> secure_bytes(size_t count);

// Fills `count` bytes of the same quality from a small per-thread reserve of
// kernel CSPRNG output, refilled a few hundred bytes at a time: a system call
// per digest nonce would cost more than the rest of the challenge. Bytes
// are wiped from the reserve as they are handed out.
void fill_secure_buffered(uint8_t* out, size_t count);

// `length` characters from [A-Za-z0-9].
std::string alphanumeric(size_t length);

// `byte_count` random bytes as lowercase hex (2 * byte_count characters).
std::string hex(size_t byte_count);

}  // namespace cppbx::random
