// See completed_store.hpp for the design.
#include "transaction/completed_store.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>
#include <type_traits>

#include "common/linear_probing.hpp"

namespace cppbx::transaction {

namespace {
constexpr size_t kInitialSlots = 64;
constexpr size_t kChunkSize = 256 * 1024;
// Emptied chunks kept for reuse. Under steady load one chunk empties about
// as often as one fills, so a spare or two saves the munmap (a TLB shootdown
// across the I/O threads) and the mmap that populates fresh zeroed pages
// (a page fault's worth of work per 4 KB, 0.27 per registration).
constexpr size_t kSpareChunks = 2;
constexpr size_t kAlignment = 8;
}  // namespace

// The three strings (key, merge key, response) follow the struct in the
// same block of a chunk.
struct CompletedStore::Record {
  Record* newer = nullptr;
  Clock::time_point expires_at;
  uint32_t key_hash = 0;  // as in the index, so expiry finds the slot without hashing again
  uint32_t merge_hash = 0;
  transport::Peer destination;
  uint32_t key_size = 0;
  uint32_t merge_size = 0;
  uint32_t response_size = 0;

  char* text() { return reinterpret_cast<char*>(this + 1); }
  const char* text() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {text(), key_size}; }
  std::string_view merge_key() const { return {text() + key_size, merge_size}; }
  std::string_view response() const { return {text() + key_size + merge_size, response_size}; }
  static size_t block_size(size_t text_size) {
    return (sizeof(Record) + text_size + kAlignment - 1) / kAlignment * kAlignment;
  }

  static Record* create(void* block, std::string_view key, std::string_view merge_key,
                        std::string_view response) {
    auto* record = new (block) Record;
    record->key_size = static_cast<uint32_t>(key.size());
    record->merge_size = static_cast<uint32_t>(merge_key.size());
    record->response_size = static_cast<uint32_t>(response.size());
    char* out = record->text();
    std::memcpy(out, key.data(), key.size());
    std::memcpy(out + key.size(), merge_key.data(), merge_key.size());
    std::memcpy(out + key.size() + merge_key.size(), response.data(), response.size());
    return record;
  }
};

CompletedStore::CompletedStore() = default;

CompletedStore::~CompletedStore() { clear(); }

// Never 0, which marks an empty slot.
uint32_t CompletedStore::hash_of(std::string_view text) {
  auto hash = static_cast<uint32_t>(std::hash<std::string_view>{}(text));
  return hash != 0 ? hash : 1;
}

bool CompletedStore::insert(std::string_view key, std::string_view merge_key, std::string_view response,
                            const transport::Peer& destination, Clock::time_point expires_at) {
  // Lengths are stored in 32 bits; a SIP message is far smaller.
  if (key.size() + merge_key.size() + response.size() > UINT32_MAX) return false;
  uint32_t key_hash = hash_of(key);
  std::lock_guard lock(mutex_);
  if (find_locked(key, key_hash) != nullptr) return false;
  void* block = allocate_locked(Record::block_size(key.size() + merge_key.size() + response.size()));
  if (block == nullptr) return false;  // out of memory: keep the whole transaction instead
  Record* record = Record::create(block, key, merge_key, response);
  record->key_hash = key_hash;
  record->merge_hash = merge_key.empty() ? 0 : hash_of(merge_key);
  record->destination = destination;
  record->expires_at = expires_at;
  add(by_key_, key_hash, record);
  if (!merge_key.empty()) add(by_merge_, record->merge_hash, record);
  if (newest_ != nullptr) {
    newest_->newer = record;
  } else {
    oldest_ = record;
  }
  newest_ = record;
  ++size_;
  return true;
}

bool CompletedStore::find(std::string_view key, std::string& response, transport::Peer& destination) const {
  uint32_t hash = hash_of(key);
  std::lock_guard lock(mutex_);
  const Record* record = find_locked(key, hash);
  if (record == nullptr) return false;
  response.assign(record->response());
  destination = record->destination;
  return true;
}

bool CompletedStore::contains(std::string_view key) const {
  uint32_t hash = hash_of(key);
  std::lock_guard lock(mutex_);
  return find_locked(key, hash) != nullptr;
}

bool CompletedStore::contains_merge_key(std::string_view merge_key) const {
  if (merge_key.empty()) return false;
  uint32_t hash = hash_of(merge_key);
  std::lock_guard lock(mutex_);
  return lookup(by_merge_, hash, merge_key, true) != nullptr;
}

size_t CompletedStore::expire(Clock::time_point now) {
  size_t removed = 0;
  std::lock_guard lock(mutex_);
  while (oldest_ != nullptr && oldest_->expires_at <= now) {
    Record* record = oldest_;
    oldest_ = record->newer;
    if (oldest_ == nullptr) newest_ = nullptr;
    remove(by_key_, record->key_hash, record);
    if (record->merge_size > 0) remove(by_merge_, record->merge_hash, record);
    --size_;
    release_oldest_record_locked();
    ++removed;
  }
  return removed;
}

void CompletedStore::clear() {
  std::lock_guard lock(mutex_);
  for (size_t i = first_chunk_; i < chunks_.size(); ++i) unmap(chunks_[i]);
  chunks_.clear();
  for (Chunk& chunk : spare_chunks_) unmap(chunk);
  spare_chunks_.clear();
  first_chunk_ = 0;
  mapped_bytes_ = 0;
  oldest_ = newest_ = nullptr;
  size_ = 0;
  by_key_ = Table{};
  by_merge_ = Table{};
}

size_t CompletedStore::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

size_t CompletedStore::memory_bytes() const {
  std::lock_guard lock(mutex_);
  auto index_bytes = [](const Table& table) {
    return table.hashes.capacity() * sizeof(uint32_t) + table.records.capacity() * sizeof(Record*);
  };
  return mapped_bytes_ + index_bytes(by_key_) + index_bytes(by_merge_);
}

size_t CompletedStore::chunks_mapped() const {
  std::lock_guard lock(mutex_);
  return chunks_mapped_;
}

void* CompletedStore::allocate_locked(size_t size) {
  static_assert(alignof(Record) <= kAlignment);
  static_assert(std::is_trivially_destructible_v<Record>, "records are dropped with their chunk");
  if (!chunks_.empty() && chunks_.back().records == 0) chunks_.back().used = 0;  // all expired: reuse
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < size) {
    // Forget unmapped chunks at the front now and then, so the vector stays
    // as short as the chunks alive.
    if (first_chunk_ > 0 && first_chunk_ * 2 >= chunks_.size()) {
      chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(first_chunk_));
      first_chunk_ = 0;
    }
    Chunk chunk;
    if (size <= kChunkSize && !spare_chunks_.empty()) {
      chunk = spare_chunks_.back();
      spare_chunks_.pop_back();
      chunk.used = 0;
      chunk.records = 0;
    } else {
      chunk.capacity = std::max(kChunkSize, size);
      // Populated at once: the chunk is about to be filled front to back, and
      // one call that maps all its pages costs far less than a page fault per
      // page on the request path (a fifth of a store's insert+expire time).
      void* memory = mmap(nullptr, chunk.capacity, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (memory == MAP_FAILED) return nullptr;
      chunk.memory = static_cast<char*>(memory);
      mapped_bytes_ += chunk.capacity;
      ++chunks_mapped_;
    }
    chunks_.push_back(chunk);
  }
  Chunk& chunk = chunks_.back();
  void* block = chunk.memory + chunk.used;
  chunk.used += size;
  ++chunk.records;
  return block;
}

// The record just unlinked was the oldest, so it lives in the oldest chunk
// that still has records.
void CompletedStore::release_oldest_record_locked() {
  if (first_chunk_ < chunks_.size() && chunks_[first_chunk_].records > 0) --chunks_[first_chunk_].records;
  // Empty chunks go (to the spares first), except the newest, which keeps
  // taking records.
  while (first_chunk_ + 1 < chunks_.size() && chunks_[first_chunk_].records == 0) {
    Chunk& chunk = chunks_[first_chunk_];
    if (chunk.capacity == kChunkSize && spare_chunks_.size() < kSpareChunks) {
      spare_chunks_.push_back(chunk);
    } else {
      unmap(chunk);
      mapped_bytes_ -= chunk.capacity;
    }
    chunk = Chunk{};
    ++first_chunk_;
  }
}

void CompletedStore::unmap(Chunk& chunk) {
  if (chunk.memory != nullptr) munmap(chunk.memory, chunk.capacity);
  chunk.memory = nullptr;
}

CompletedStore::Record* CompletedStore::find_locked(std::string_view key, uint32_t hash) const {
  return lookup(by_key_, hash, key, false);
}

CompletedStore::Record* CompletedStore::lookup(const Table& table, uint32_t hash, std::string_view text,
                                               bool by_merge) {
  if (table.count == 0) return nullptr;
  size_t mask = table.hashes.size() - 1;
  for (size_t i = hash & mask; table.hashes[i] != 0; i = (i + 1) & mask) {
    if (table.hashes[i] != hash) continue;
    Record* record = table.records[i];
    if ((by_merge ? record->merge_key() : record->key()) == text) return record;
  }
  return nullptr;
}

// Keys are unique (insert() checks first) and merge keys need not be: a
// record goes in the first empty slot of its probe run either way. Up to
// three quarters full: a miss then scans about eight 4-byte hashes, one or
// two cache lines, and the index costs 16 to 32 bytes per record.
void CompletedStore::add(Table& table, uint32_t hash, Record* record) {
  if ((table.count + 1) * 4 > table.hashes.size() * 3) {
    resize(table, table.hashes.empty() ? kInitialSlots : table.hashes.size() * 2);
  }
  size_t mask = table.hashes.size() - 1;
  size_t i = hash & mask;
  while (table.hashes[i] != 0) i = (i + 1) & mask;
  table.hashes[i] = hash;
  table.records[i] = record;
  ++table.count;
}

// Finds the record's slot by pointer, then empties it by backward shift
// (common/linear_probing.hpp), so look-ups never meet tombstones.
void CompletedStore::remove(Table& table, uint32_t hash, const Record* record) {
  if (table.count == 0) return;
  size_t mask = table.hashes.size() - 1;
  size_t hole = hash & mask;
  while (table.records[hole] != record) {
    if (table.hashes[hole] == 0) return;  // not indexed
    hole = (hole + 1) & mask;
  }
  erase_by_backward_shift(
      hole, mask, [&](size_t i) { return table.hashes[i] == 0; },
      [&](size_t i) { return table.hashes[i] & mask; },
      [&](size_t from, size_t to) {
        table.hashes[to] = table.hashes[from];
        table.records[to] = table.records[from];
      },
      [&](size_t i) {
        table.hashes[i] = 0;
        table.records[i] = nullptr;
      });
  --table.count;
  // An eighth full: halve, so a burst does not pin its peak index memory.
  if (table.hashes.size() > kInitialSlots && table.count * 8 < table.hashes.size()) {
    resize(table, table.hashes.size() / 2);
  }
}

// Rehashing reads only the hash array: no record is touched.
void CompletedStore::resize(Table& table, size_t slots) {
  Table resized;
  resized.hashes.assign(slots, 0);
  resized.records.assign(slots, nullptr);
  resized.count = table.count;
  size_t mask = slots - 1;
  for (size_t i = 0; i < table.hashes.size(); ++i) {
    if (table.hashes[i] == 0) continue;
    size_t j = table.hashes[i] & mask;
    while (resized.hashes[j] != 0) j = (j + 1) & mask;
    resized.hashes[j] = table.hashes[i];
    resized.records[j] = table.records[i];
  }
  table = std::move(resized);
}

}  // namespace cppbx::transaction
