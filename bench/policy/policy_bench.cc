// What the policy costs per message beside what the cryptography alone
// costs, measured in the same binary (ratios, not bare times):
//   baseline_pass_through   PassThroughProcessor (the stage before the policy)
//   baseline_engine_sign_encrypt  the engine's Sign + Encrypt for one recipient,
//                           with a signer prepared once: the crypto floor
//   policy_*                PolicyProcessor::Process over a FakeKeyService
// A 2 KB text message; RSA-2048 sender (alice) and recipient (carol).
//   build/bench/policy/policy_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include "tests/workers/policy/policy_test_util.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;

std::string Body() {
  std::string line(70, 'x');
  std::string body;
  while (body.size() < 2048) body += line + "\r\n";
  return body;
}

Harness& H() {
  static Harness* h = [] {
    auto* x = new Harness();
    x->AddCast();
    return x;
  }();
  return *h;
}

void Run(benchmark::State& state, const v1::MessageRecord& rec) {
  for (auto _ : state) {
    auto out = H().Run(rec);
    if (!out.ok()) state.SkipWithError(out.error().ToString().c_str());
    benchmark::DoNotOptimize(out);
  }
}

void BM_baseline_pass_through(benchmark::State& state) {
  PassThroughProcessor p;
  auto rec = Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {"carol@example.org"},
                    TextMessage("alice@example.com", "hi", Body()));
  for (auto _ : state) benchmark::DoNotOptimize(p.Process(rec));
}
BENCHMARK(BM_baseline_pass_through);

void BM_baseline_engine_sign_encrypt(benchmark::State& state) {
  auto signer = smime::PreparedSigner::Create(GetTestPki().alice.Signer()).value();
  const std::string msg = TextMessage("alice@example.com", "hi", Body());
  smime::Recipient r{GetTestPki().carol.cert};
  smime::EncryptOptions eo;
  eo.transport_encode = false;
  for (auto _ : state) {
    auto s = H().engine->Sign(msg, signer);
    auto e = H().engine->Encrypt(*s, std::span<const smime::Recipient>(&r, 1), eo);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_baseline_engine_sign_encrypt);

void BM_policy_nonparticipant_unchanged(benchmark::State& state) {
  Run(state, Record(v1::DIRECTION_OUTBOUND, "zed@example.com", {"erin@nocert.example"},
                    TextMessage("zed@example.com", "hi", Body())));
}
BENCHMARK(BM_policy_nonparticipant_unchanged);

void BM_policy_signed(benchmark::State& state) {
  Run(state, Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {"erin@nocert.example"},
                    TextMessage("alice@example.com", "hi", Body())));
}
BENCHMARK(BM_policy_signed);

void BM_policy_signed_encrypted(benchmark::State& state) {
  Run(state, Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {"carol@example.org"},
                    TextMessage("alice@example.com", "hi", Body())));
}
BENCHMARK(BM_policy_signed_encrypted);

void BM_policy_tagged_encoded_subject(benchmark::State& state) {
  Run(state, Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {"carol@example.org"},
                    TextMessage("alice@example.com", "=?utf-8?q?=5Bconfidential=5D_Gr=C3=BC=C3=9Fe?=",
                                Body())));
}
BENCHMARK(BM_policy_tagged_encoded_subject);

void BM_policy_inbound_verify(benchmark::State& state) {
  auto s = H().engine->Sign(TextMessage("carol@example.org", "hi", Body()),
                            GetTestPki().carol.Signer());
  Run(state, Record(v1::DIRECTION_INBOUND, "carol@example.org", {"alice@example.com"}, *s));
}
BENCHMARK(BM_policy_inbound_verify);

void BM_policy_inbound_decrypt(benchmark::State& state) {
  smime::Recipient r{GetTestPki().alice.cert};
  auto e = H().engine->Encrypt(TextMessage("carol@example.org", "hi", Body()),
                               std::span<const smime::Recipient>(&r, 1));
  Run(state, Record(v1::DIRECTION_INBOUND, "carol@example.org", {"alice@example.com"}, e->message));
}
BENCHMARK(BM_policy_inbound_decrypt);

}  // namespace
}  // namespace sg::workers::testing

BENCHMARK_MAIN();
