// What DKIM signing adds to an outbound signed+encrypted message (issue 22,
// docs/dkim.md), measured in the same binary as ratios to the baseline:
//   baseline_signed_encrypted_dkim_off  PolicyProcessor::Process with
//                                       workers.policy.dkim.sign: off
//   signed_encrypted_dkim_rsa           the same with sign: modified and an
//                                       active RSA-2048 key of the From domain
//   signed_encrypted_dkim_ed25519       the same with an Ed25519 key (RFC 8463)
// A 10 KB text message from alice (RSA-2048) to carol (RSA-2048), over a
// FakeKeyService (no keyservice round trip: in production the worker's key
// cache answers from memory).
// And DkimSigner::Sign alone on that message, with the key prepared for
// every signature (what the signer did before dkim_key_cache.h; its
// baseline) and kept prepared:
//   baseline_dkim_sign_{rsa,ed25519}_key_per_message  DkimSigner::Create(0)
//   dkim_sign_{rsa,ed25519}_key_kept                  DkimSigner::Create()
// Interleave the runs so that machine load hits all of them alike:
//   build/bench/policy/dkim_bench --benchmark_repetitions=5
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// (one command line).
#include <benchmark/benchmark.h>

#include <map>

#include "keyservice/dkim_keys.h"
#include "tests/workers/policy/policy_test_util.h"
#include "workers/dkim/dkim_signer.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;

constexpr size_t kBodyBytes = size_t{10} * 1024;

std::string Body() {
  const std::string line(70, 'x');
  std::string body;
  while (body.size() < kBodyBytes) body += line + "\r\n";
  return body;
}

// One harness per DKIM key algorithm ("" = DKIM off), built once and kept
// for the process (like policy_bench's).
Harness& H(const std::string& algorithm) {
  static std::map<std::string, Harness*> harnesses;
  Harness*& h = harnesses[algorithm];
  if (h == nullptr) {
    PolicyConfig config;
    config.dkim_sign = algorithm.empty() ? dkim::DkimSignMode::kOff : dkim::DkimSignMode::kModified;
    h = new Harness(config);  // lives as long as the process
    h->AddCast();
    auto m = keyservice::GenerateDkimKey(algorithm.empty() ? "rsa" : algorithm);
    if (m.ok()) {
      h->keys.SetDkimKey("example.com", {"example.com", "s1", algorithm.empty() ? "rsa" : algorithm,
                                         m->private_key_der});
    }
  }
  return *h;
}

void Run(benchmark::State& state, const std::string& algorithm) {
  Harness& h = H(algorithm);
  const auto rec = Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {"carol@example.org"},
                          TextMessage("alice@example.com", "hi", Body()));
  for (auto _ : state) {
    auto out = h.Run(rec);
    if (!out.ok() || out->size() != 1) {
      state.SkipWithError("policy failed");
      break;
    }
    // What is measured is what it says: a DKIM signature exactly when on.
    const bool dkim_signed = (*out)[0].message().starts_with("DKIM-Signature:");
    if (dkim_signed == algorithm.empty()) {
      state.SkipWithError("DKIM signature not as expected");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBodyBytes));
}

// DkimSigner::Sign alone; `keys` is the signer's key cache size.
void SignOnly(benchmark::State& state, const std::string& algorithm, size_t keys) {
  auto signer = dkim::DkimSigner::Create(keys);
  auto m = keyservice::GenerateDkimKey(algorithm);
  if (!signer.ok() || !m.ok()) {
    state.SkipWithError("no signer or key");
    return;
  }
  const keyservice::DkimSigningKey key{"example.com", "s1", algorithm, m->private_key_der};
  const std::string message = TextMessage("alice@example.com", "hi", Body());
  for (auto _ : state) {
    auto header = (*signer)->Sign(key, message);
    if (!header.ok()) {
      state.SkipWithError("sign failed");
      break;
    }
    benchmark::DoNotOptimize(header);
  }
  state.counters["keys_prepared"] = static_cast<double>((*signer)->KeysPrepared());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBodyBytes));
}

void BM_baseline_dkim_sign_rsa_key_per_message(benchmark::State& state) {
  SignOnly(state, "rsa", 0);
}
BENCHMARK(BM_baseline_dkim_sign_rsa_key_per_message);

void BM_dkim_sign_rsa_key_kept(benchmark::State& state) {
  SignOnly(state, "rsa", dkim::DkimSigner::kDefaultKeyCacheEntries);
}
BENCHMARK(BM_dkim_sign_rsa_key_kept);

void BM_baseline_dkim_sign_ed25519_key_per_message(benchmark::State& state) {
  SignOnly(state, "ed25519", 0);
}
BENCHMARK(BM_baseline_dkim_sign_ed25519_key_per_message);

void BM_dkim_sign_ed25519_key_kept(benchmark::State& state) {
  SignOnly(state, "ed25519", dkim::DkimSigner::kDefaultKeyCacheEntries);
}
BENCHMARK(BM_dkim_sign_ed25519_key_kept);

void BM_baseline_signed_encrypted_dkim_off(benchmark::State& state) { Run(state, ""); }
BENCHMARK(BM_baseline_signed_encrypted_dkim_off);

void BM_signed_encrypted_dkim_rsa(benchmark::State& state) { Run(state, "rsa"); }
BENCHMARK(BM_signed_encrypted_dkim_rsa);

void BM_signed_encrypted_dkim_ed25519(benchmark::State& state) { Run(state, "ed25519"); }
BENCHMARK(BM_signed_encrypted_dkim_ed25519);

}  // namespace
}  // namespace sg::workers::testing

BENCHMARK_MAIN();
