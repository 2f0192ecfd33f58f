// What is left of a finished non-INVITE server transaction over UDP while it
// waits out Timer J (64*T1, RFC 3261 17.2.2): only what absorbing a
// retransmission needs - the match key, the merged-request key (RFC 3261
// 8.2.2.2), the final response bytes, where they go and when the record
// expires. A full transaction (request, timer, mutex, tables) costs several
// KB; a record is about 100 bytes plus its strings.
//
// Design decisions:
// - One block per record holding the fixed fields and the three strings
//   back to back: no per-string headers.
// - Two open-addressed indexes (by key and by merge key; linear probing, at
//   most three quarters full) hold each record's 32-bit hash apart from its pointer.
//   Nearly every look-up is a miss (a new request is checked for a
//   retransmission and for a merge), and records are scattered over
//   megabytes of chunks: a miss reads one line of the hash array and no
//   record. With hash chains each miss cost two to three cache misses, 7 % of
//   a registration's CPU. Removal shifts the rest of the probe run back (no
//   tombstones), reading only hashes.
// - An intrusive FIFO: no node allocations.
// - Timer J has the same length for every record of a layer, so records
//   expire in insertion order: expiry pops from the FIFO front, no heap or
//   timer per record. The layer's housekeeping timer calls expire().
// - Because they also die in insertion order, records are bump-allocated in
//   256 KB chunks mapped straight from the OS, and a chunk is unmapped when
//   its last record expires (two emptied chunks are kept for reuse). Through
//   malloc, short-lived records interleaved with long-lived bindings and
//   nonces, and after a burst the heap could not give the pages back (quiet
//   RSS grew by ~1.2 KB per registration ever made); chunks also save a
//   malloc/free pair per transaction.
//   (Records finished by racing threads may be a few microseconds out of
//   order; expire() then frees the later one a tick later, which is harmless.)
// - One mutex: every operation is a short hash look-up or list splice, far
//   below the cost of the datagram that causes it, so sharding buys nothing
//   at two I/O threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "transport/transport.hpp"

namespace cppbx::transaction {

class CompletedStore {
 public:
  using Clock = std::chrono::steady_clock;

  CompletedStore();
  ~CompletedStore();
  CompletedStore(const CompletedStore&) = delete;
  CompletedStore& operator=(const CompletedStore&) = delete;

  // Adds a record; `merge_key` may be empty (the request had a To tag) and
  // `response` may be empty (the transaction was dropped: absorb silently).
  // `expires_at` must not be earlier than that of the records already stored.
  // Returns false (and stores nothing) when `key` is already present.
  bool insert(std::string_view key, std::string_view merge_key, std::string_view response,
              const transport::Peer& destination, Clock::time_point expires_at);

  // When `key` is stored, copies its response and destination out and returns
  // true (the caller re-sends the response, if any, outside the lock).
  bool find(std::string_view key, std::string& response, transport::Peer& destination) const;
  bool contains(std::string_view key) const;
  bool contains_merge_key(std::string_view merge_key) const;

  // Removes every record that expired at `now`; returns how many.
  size_t expire(Clock::time_point now);
  void clear();

  size_t size() const;
  // Bytes held: mapped chunks (spares included) plus the indexes (for tests
  // and stats).
  size_t memory_bytes() const;
  // How many chunks were ever mapped from the OS (for tests and stats).
  size_t chunks_mapped() const;

 private:
  struct Record;
  struct Chunk {
    char* memory = nullptr;
    size_t capacity = 0;
    size_t used = 0;
    size_t records = 0;  // live records allocated here
  };
  // Slot i holds hashes[i] (0: empty) and records[i]; sizes are powers of two.
  struct Table {
    std::vector<uint32_t> hashes;
    std::vector<Record*> records;
    size_t count = 0;
  };

  static uint32_t hash_of(std::string_view text);
  Record* find_locked(std::string_view key, uint32_t hash) const;
  static Record* lookup(const Table& table, uint32_t hash, std::string_view text, bool by_merge);
  static void add(Table& table, uint32_t hash, Record* record);
  static void remove(Table& table, uint32_t hash, const Record* record);
  static void resize(Table& table, size_t slots);
  void* allocate_locked(size_t size);
  void release_oldest_record_locked();
  static void unmap(Chunk& chunk);

  mutable std::mutex mutex_;
  Table by_key_;
  Table by_merge_;
  Record* oldest_ = nullptr;
  Record* newest_ = nullptr;
  size_t size_ = 0;
  std::vector<Chunk> chunks_;  // oldest first; the last one takes new records
  std::vector<Chunk> spare_chunks_;  // emptied, still mapped, reused before mapping more
  size_t first_chunk_ = 0;     // chunks_[0, first_chunk_) are unmapped already
  size_t mapped_bytes_ = 0;
  size_t chunks_mapped_ = 0;
};

}  // namespace cppbx::transaction
