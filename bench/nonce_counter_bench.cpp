// Nonce-count bookkeeping at a registrar's steady state: 1,000 new nonces a
// second, each recorded once, with the default 300 s nonce lifetime, so the
// counter holds about 300,000 entries and drops as many as it records. The
// clock is simulated (one second per 1,000 records) so that expiry happens
// at the rate it would in production without waiting for it.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "auth/nonce.hpp"

namespace {

using cppbx::auth::NonceCounter;
using cppbx::auth::NonceKey;

void BM_NonceCounterSteadyState(benchmark::State& state) {
  constexpr int64_t kLifetime = 300;
  constexpr int kPerSecond = 1000;
  int64_t now = 1'000'000;
  NonceCounter counter(1'000'000, [&now] { return now; });
  std::mt19937_64 random(1);
  // Nonce keys are MAC output: uniformly random bytes.
  std::vector<NonceKey> keys(1 << 20);
  for (NonceKey& key : keys) {
    const uint64_t halves[2] = {random(), random()};
    std::memcpy(key.data(), halves, sizeof halves);
  }
  size_t next = 0;
  auto record_one = [&] {
    if (next % kPerSecond == 0) ++now;
    benchmark::DoNotOptimize(counter.record(keys[next % keys.size()], now + kLifetime, 1));
    ++next;
  };
  for (int i = 0; i < kLifetime * kPerSecond; ++i) record_one();  // fill to the steady state
  for (auto _ : state) record_one();
  state.counters["entries"] = static_cast<double>(counter.size());
}
BENCHMARK(BM_NonceCounterSteadyState);

}  // namespace
