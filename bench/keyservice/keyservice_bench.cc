// What a worker pays per message for its signing identity: in process
// (baseline), over gRPC on the loopback, and through the worker-side cache
// in front of gRPC; and what first use costs (key generation + issuance).
// Report ratios against BM_SigningIdentityInProcess.
#include <benchmark/benchmark.h>

#include "keyservice/key_cache.h"
#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_server.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

struct Fixture {
  Fixture() {
    auto config = testing::TestConfig(dir.path());
    server = std::move(*KeyServiceServer::Create(config, {"example.com"}, registry, clock));
    if (!server->Start().ok()) std::abort();
    if (!server->admin().PutUsers({User{"alice@example.com", true, ""}}).ok()) std::abort();
    if (!server->local().GetSigningIdentity("alice@example.com").ok()) std::abort();
    client = KeyServiceClient::Create(server->bound_endpoint());
    cache = std::make_unique<CachingKeyService>(*client);
  }
  ~Fixture() {
    cache.reset();
    client.reset();
    server->Stop();
  }
  testing::TempDir dir;
  metrics::Registry registry;
  SystemClock clock;
  std::unique_ptr<KeyServiceServer> server;
  std::unique_ptr<KeyServiceClient> client;
  std::unique_ptr<CachingKeyService> cache;
};

Fixture& F() {
  static Fixture* f = new Fixture();  // shared by all benchmarks, never torn down mid-run
  return *f;
}

void Lookup(benchmark::State& state, KeyService& ks) {
  for (auto _ : state) {
    auto id = ks.GetSigningIdentity("alice@example.com");
    if (!id.ok() || !id->has_value()) state.SkipWithError("lookup failed");
    benchmark::DoNotOptimize(id);
  }
}

void BM_SigningIdentityInProcess(benchmark::State& state) { Lookup(state, F().server->local()); }
void BM_SigningIdentityGrpc(benchmark::State& state) { Lookup(state, *F().client); }
void BM_SigningIdentityCachedGrpc(benchmark::State& state) { Lookup(state, *F().cache); }

void BM_FirstUseIssuance(benchmark::State& state) {
  static int i = 0;  // unique users across repetitions
  for (auto _ : state) {
    state.PauseTiming();
    std::string addr = "user" + std::to_string(state.range(0)) + "-" + std::to_string(i++) + "@example.com";
    if (!F().server->admin().PutUsers({User{addr, true, ""}}).ok()) std::abort();
    state.ResumeTiming();
    auto id = F().server->local().GetSigningIdentity(addr);
    if (!id.ok()) state.SkipWithError("issuance failed");
  }
}

BENCHMARK(BM_SigningIdentityInProcess);
BENCHMARK(BM_SigningIdentityGrpc);
BENCHMARK(BM_SigningIdentityCachedGrpc);
BENCHMARK(BM_FirstUseIssuance)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
}  // namespace sg::keyservice

BENCHMARK_MAIN();
