// The worker key cache after a worker restart: how long until N = 1000
// distinct recipients' encryption certificates are served, starting cold
// (empty cache: every lookup asks the keyservice) versus warm (the
// persistent tier from the previous run). The keyservice is a fake that
// adds 1 ms per call, like a remote keyservice under some load.
// Also the cost of one lookup: in-memory hit versus the first hit of an
// entry that is only on disk.
//
// Report ratios: BM_RestartWarm / BM_RestartCold, and
// BM_LookupDiskFirstHit / BM_LookupMemoryHit (items_per_second).
#include <benchmark/benchmark.h>

#include "keyservice/key_cache.h"
#include "tests/support/fake_key_service.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
constexpr int kAddresses = 1000;

std::string Address(int i) { return "user" + std::to_string(i) + "@partner.example"; }

struct Fixture {
  Fixture() {
    std::string der(1200, 'x');  // about the size of an RSA-2048 certificate
    for (int i = 0; i < kAddresses; ++i) {
      EncryptionCertificate c;
      c.owner = Address(i);
      c.certificate_der = der + std::to_string(i);
      c.capabilities = {"aes256-gcm", "aes128-gcm", "aes256-cbc"};
      ks.SetCertificate(Address(i), c);
    }
    ks.latency = 1ms;
  }
  std::unique_ptr<CachingKeyService> Open(const std::string& path) {
    auto store = KeyCacheStore::Open(path, "bench");
    if (!store.ok()) std::abort();
    KeyCacheOptions o;
    o.poll_wait = 20ms;
    return std::make_unique<CachingKeyService>(ks, o, std::move(*store));
  }
  sg::testing::FakeKeyService ks;
  testing::TempDir dir;
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

void ServeAll(benchmark::State& state, CachingKeyService& cache) {
  for (int i = 0; i < kAddresses; ++i) {
    auto c = cache.GetEncryptionCertificate(Address(i));
    if (!c.ok() || !c->has_value()) state.SkipWithError("lookup failed");
  }
}

void BM_RestartCold(benchmark::State& state) {
  int run = 0;
  for (auto _ : state) {
    std::string dir = (F().dir.path() / ("cold-" + std::to_string(run++))).string();
    auto cache = F().Open(dir);
    ServeAll(state, *cache);
    state.PauseTiming();
    cache.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kAddresses);
}

void BM_RestartWarm(benchmark::State& state) {
  std::string dir = (F().dir.path() / "warm").string();
  {
    auto cache = F().Open(dir);  // the previous run
    cache->WaitUntilSynced(5s);
    ServeAll(state, *cache);
  }
  for (auto _ : state) {
    auto cache = F().Open(dir);  // timed from opening the store
    ServeAll(state, *cache);
    state.PauseTiming();
    cache.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kAddresses);
}

void BM_LookupMemoryHit(benchmark::State& state) {
  std::string dir = (F().dir.path() / "memory").string();
  auto cache = F().Open(dir);
  cache->WaitUntilSynced(5s);
  ServeAll(state, *cache);
  for (auto _ : state) ServeAll(state, *cache);
  state.SetItemsProcessed(state.iterations() * kAddresses);
}

void BM_LookupDiskFirstHit(benchmark::State& state) {
  std::string dir = (F().dir.path() / "disk").string();
  {
    auto cache = F().Open(dir);
    cache->WaitUntilSynced(5s);
    ServeAll(state, *cache);
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto cache = F().Open(dir);
    cache->WaitUntilSynced(5s);  // in step: disk entries count as current
    state.ResumeTiming();
    ServeAll(state, *cache);
    state.PauseTiming();
    if (cache->disk_hits() != kAddresses) state.SkipWithError("not all from disk");
    cache.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kAddresses);
}

BENCHMARK(BM_RestartCold)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RestartWarm)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_LookupMemoryHit)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LookupDiskFirstHit)->Unit(benchmark::kMicrosecond)->Iterations(10);

}  // namespace
}  // namespace sg::keyservice

BENCHMARK_MAIN();
