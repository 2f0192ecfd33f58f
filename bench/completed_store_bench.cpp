// The finished-transaction store at a registrar's steady state: every
// REGISTER answered adds a record and, Timer J later, one expires, while the
// store holds what 32 seconds of traffic leave behind: 32,000 records at
// 1,000 registrations/s now that challenges are stateless, 64,000 at 2,000/s
// or when both transactions were kept. Per iteration: one insert,
// the expiry of the oldest record, a look-up that misses by key and one by
// merge key, as a new request does. Most of the cost is cache misses on
// records, so the table sizes are the bench's, not a toy's.
#include <benchmark/benchmark.h>

#include <string>

#include "transaction/completed_store.hpp"

namespace {

using cppbx::transaction::CompletedStore;

std::string branch_key(int i) { return "z9hG4bK-" + std::to_string(i) + "-524287-1---a6c34cd7c1a6b4d3"; }
std::string merge_key(int i) { return "ZDE0ZmM4YjA3-" + std::to_string(i) + "@192.0.2.44;8a7c5b3d;2 REGISTER"; }

void BM_CompletedStoreSteadyState(benchmark::State& state) {
  const int live = static_cast<int>(state.range(0));
  const std::string response(430, 'r');  // a 401 with its challenge
  CompletedStore store;
  const auto t0 = CompletedStore::Clock::now();
  auto at = [&](int i) { return t0 + std::chrono::microseconds(i); };
  int next = 0;
  for (; next < live; ++next) store.insert(branch_key(next), merge_key(next), response, {}, at(next));
  // Building the three keys (about 0.1 us) is part of each iteration: the
  // alternative, Pause/ResumeTiming, costs more than it would hide.
  for (auto _ : state) {
    std::string key = branch_key(next), merge = merge_key(next), fresh = merge_key(next + live);
    std::string text;
    cppbx::transport::Peer destination;
    benchmark::DoNotOptimize(store.find(key, text, destination));
    benchmark::DoNotOptimize(store.contains_merge_key(fresh));
    store.insert(key, merge, response, {}, at(next));
    store.expire(at(next - live));
    ++next;
  }
}
BENCHMARK(BM_CompletedStoreSteadyState)->Arg(1000)->Arg(64000);

}  // namespace
