// See completed_store.hpp for the design.
#include "transaction/completed_store.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>
#include <type_traits>

namespace cppbx::transaction {

namespace {
constexpr size_t kInitialBuckets = 64;
// Bucket arrays beyond this are given back when the store empties, so a
// burst does not pin its peak bucket memory for the rest of the process.
constexpr size_t kKeptBuckets = 1024;
constexpr size_t kChunkSize = 256 * 1024;
constexpr size_t kAlignment = 8;
}  // namespace

// The three strings (key, merge key, response) follow the struct in the
// same block of a chunk.
struct CompletedStore::Record {
  Record* next_by_key = nullptr;
  Record* next_by_merge = nullptr;
  // The pointer that points at this record in its chain (a bucket slot or
  // the previous record's next): unlinking the oldest record, which sits at
  // the far end of its chain, then touches no other record.
  Record** slot_by_key = nullptr;
  Record** slot_by_merge = nullptr;
  Record* newer = nullptr;
  Clock::time_point expires_at;
  uint32_t key_hash = 0;  // low bits of the full hash: enough to pick buckets and skip compares
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

uint32_t CompletedStore::hash_of(std::string_view text) {
  return static_cast<uint32_t>(std::hash<std::string_view>{}(text));
}

bool CompletedStore::insert(std::string_view key, std::string_view merge_key, std::string_view response,
                            const transport::Peer& destination, Clock::time_point expires_at) {
  // Lengths are stored in 32 bits; a SIP message is far smaller.
  if (key.size() + merge_key.size() + response.size() > UINT32_MAX) return false;
  uint32_t key_hash = hash_of(key);
  std::lock_guard lock(mutex_);
  if (find_locked(key) != nullptr) return false;
  void* block = allocate_locked(Record::block_size(key.size() + merge_key.size() + response.size()));
  if (block == nullptr) return false;  // out of memory: keep the whole transaction instead
  Record* record = Record::create(block, key, merge_key, response);
  record->key_hash = key_hash;
  record->merge_hash = merge_key.empty() ? 0 : hash_of(merge_key);
  record->destination = destination;
  record->expires_at = expires_at;
  link(by_key_, record, false);
  if (!merge_key.empty()) link(by_merge_, record, true);
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
  std::lock_guard lock(mutex_);
  const Record* record = find_locked(key);
  if (record == nullptr) return false;
  response.assign(record->response());
  destination = record->destination;
  return true;
}

bool CompletedStore::contains(std::string_view key) const {
  std::lock_guard lock(mutex_);
  return find_locked(key) != nullptr;
}

bool CompletedStore::contains_merge_key(std::string_view merge_key) const {
  if (merge_key.empty()) return false;
  uint32_t hash = hash_of(merge_key);
  std::lock_guard lock(mutex_);
  if (by_merge_.buckets.empty()) return false;
  for (const Record* r = by_merge_.buckets[hash & (by_merge_.buckets.size() - 1)]; r; r = r->next_by_merge) {
    if (r->merge_hash == hash && r->merge_key() == merge_key) return true;
  }
  return false;
}

size_t CompletedStore::expire(Clock::time_point now) {
  size_t removed = 0;
  std::lock_guard lock(mutex_);
  while (oldest_ != nullptr && oldest_->expires_at <= now) {
    Record* record = oldest_;
    oldest_ = record->newer;
    if (oldest_ == nullptr) newest_ = nullptr;
    unlink(by_key_, record, false);
    if (record->merge_size > 0) unlink(by_merge_, record, true);
    --size_;
    release_oldest_record_locked();
    ++removed;
  }
  release_buckets_if_empty_locked();
  return removed;
}

void CompletedStore::clear() {
  std::lock_guard lock(mutex_);
  for (size_t i = first_chunk_; i < chunks_.size(); ++i) unmap(chunks_[i]);
  chunks_.clear();
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
  return mapped_bytes_ + (by_key_.buckets.capacity() + by_merge_.buckets.capacity()) * sizeof(Record*);
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
    chunk.capacity = std::max(kChunkSize, size);
    // Populated at once: the chunk is about to be filled front to back, and
    // one call that maps all its pages costs far less than a page fault per
    // page on the request path (a fifth of a store's insert+expire time).
    void* memory = mmap(nullptr, chunk.capacity, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    chunk.memory = static_cast<char*>(memory);
    mapped_bytes_ += chunk.capacity;
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
  // Empty chunks go, except the newest, which keeps taking records.
  while (first_chunk_ + 1 < chunks_.size() && chunks_[first_chunk_].records == 0) {
    Chunk& chunk = chunks_[first_chunk_];
    unmap(chunk);
    mapped_bytes_ -= chunk.capacity;
    chunk = Chunk{};
    ++first_chunk_;
  }
}

void CompletedStore::unmap(Chunk& chunk) {
  if (chunk.memory != nullptr) munmap(chunk.memory, chunk.capacity);
  chunk.memory = nullptr;
}

CompletedStore::Record* CompletedStore::find_locked(std::string_view key) const {
  if (by_key_.buckets.empty()) return nullptr;
  uint32_t hash = hash_of(key);
  for (Record* r = by_key_.buckets[hash & (by_key_.buckets.size() - 1)]; r; r = r->next_by_key) {
    if (r->key_hash == hash && r->key() == key) return r;
  }
  return nullptr;
}

// Pushes `record` on the chain that starts at `head`.
void CompletedStore::push_front(Record*& head, Record* record, bool by_merge) {
  Record*& next = by_merge ? record->next_by_merge : record->next_by_key;
  next = head;
  if (head != nullptr) (by_merge ? head->slot_by_merge : head->slot_by_key) = &next;
  head = record;
  (by_merge ? record->slot_by_merge : record->slot_by_key) = &head;
}

void CompletedStore::link(Table& table, Record* record, bool by_merge) {
  grow_if_needed(table, by_merge);
  uint32_t hash = by_merge ? record->merge_hash : record->key_hash;
  Record*& head = table.buckets[hash & (table.buckets.size() - 1)];
  push_front(head, record, by_merge);
  ++table.count;
}

void CompletedStore::unlink(Table& table, Record* record, bool by_merge) {
  Record* next = by_merge ? record->next_by_merge : record->next_by_key;
  Record** slot = by_merge ? record->slot_by_merge : record->slot_by_key;
  *slot = next;
  if (next != nullptr) (by_merge ? next->slot_by_merge : next->slot_by_key) = slot;
  --table.count;
}

// Power-of-two bucket counts, doubled when the load reaches 1, so chains
// stay short; the stored hashes make rehashing a pointer walk.
void CompletedStore::grow_if_needed(Table& table, bool by_merge) {
  if (!table.buckets.empty() && table.count < table.buckets.size()) return;
  size_t size = table.buckets.empty() ? kInitialBuckets : table.buckets.size() * 2;
  std::vector<Record*> buckets(size, nullptr);
  for (Record* head : table.buckets) {
    while (head != nullptr) {
      Record* next = by_merge ? head->next_by_merge : head->next_by_key;
      uint32_t hash = by_merge ? head->merge_hash : head->key_hash;
      Record*& target = buckets[hash & (size - 1)];
      push_front(target, head, by_merge);
      head = next;
    }
  }
  table.buckets.swap(buckets);  // the slots point into the vector's heap block, which moves with it
}

void CompletedStore::release_buckets_if_empty_locked() {
  if (size_ != 0) return;
  if (by_key_.buckets.size() > kKeptBuckets) by_key_ = Table{};
  if (by_merge_.buckets.size() > kKeptBuckets) by_merge_ = Table{};
}

}  // namespace cppbx::transaction
