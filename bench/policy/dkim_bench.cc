// What DKIM signing adds to an outbound signed+encrypted message (issue 22,
// docs/dkim.md), measured in the same binary as ratios to the baseline:
//   baseline_signed_encrypted_no_dkim  PolicyProcessor::Process, the From
//                                      domain has no DKIM key (the lookup only)
//   signed_encrypted_dkim_rsa          the same with an active RSA-2048 key
//   signed_encrypted_dkim_ed25519      the same with an active Ed25519 key
// A 2 KB text message from alice (RSA-2048) to carol (RSA-2048), over a
// FakeKeyService (no keyservice round trip: the worker's key cache answers
// from memory in production).
//   build/bench/policy/dkim_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <map>

#include "keyservice/dkim_keys.h"
#include "tests/workers/policy/policy_test_util.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;

std::string Body() {
  std::string line(70, 'x');
  std::string body;
  while (body.size() < 2048) body += line + "\r\n";
  return body;
}

// One harness per key kind ("" = none), built once.
Harness& H(const std::string& algorithm) {
  static std::map<std::string, Harness*> harnesses;
  auto& h = harnesses[algorithm];
  if (h == nullptr) {
    h = new Harness();
    h->AddCast();
    if (!algorithm.empty()) {
      auto m = keyservice::GenerateDkimKey(algorithm);
      h->keys.SetDkimKey("example.com", {"example.com", "s1", algorithm, m->private_key_der});
    }
  }
  return *h;
}

void Run(benchmark::State& state, const std::string& algorithm) {
  Harness& h = H(algorithm);
  auto rec = Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {"carol@example.org"},
                    TextMessage("alice@example.com", "hi", Body()));
  for (auto _ : state) {
    auto out = h.Run(rec);
    if (!out.ok() || out->size() != 1) {
      state.SkipWithError("policy failed");
      break;
    }
    const bool signed_dkim = (*out)[0].message().starts_with("DKIM-Signature:");
    if (signed_dkim == algorithm.empty()) {
      state.SkipWithError("DKIM signature not as expected");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
}

void BM_baseline_signed_encrypted_no_dkim(benchmark::State& state) { Run(state, ""); }
BENCHMARK(BM_baseline_signed_encrypted_no_dkim);

void BM_signed_encrypted_dkim_rsa(benchmark::State& state) { Run(state, "rsa"); }
BENCHMARK(BM_signed_encrypted_dkim_rsa);

void BM_signed_encrypted_dkim_ed25519(benchmark::State& state) { Run(state, "ed25519"); }
BENCHMARK(BM_signed_encrypted_dkim_ed25519);

}  // namespace
}  // namespace sg::workers::testing

BENCHMARK_MAIN();
