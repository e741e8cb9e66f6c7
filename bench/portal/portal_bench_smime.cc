// bench/portal sign+encrypt baseline (issue 17 "Benchmark": the portal's
// store rate beside the sign+encrypt rate of the same run): what a worker
// does for an S/MIME recipient instead of the portal form, on the same
// messages, one thread, RSA-2048 signer and recipient (the test PKI of
// tests/workers/smime), with the signer prepared once as the workers do.
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "bench/portal/portal_bench_scenarios.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

namespace sg::portal::bench {

SmimeResult RunSignEncrypt(size_t records, size_t message_bytes) {
  SmimeResult out;
  out.records = records;
  auto engine = smime::SmimeEngine::Create();
  if (!engine.ok()) {
    out.problem = "engine: " + engine.error().ToString();
    return out;
  }
  const auto& pki = smime::testing::GetTestPki();
  auto signer = smime::PreparedSigner::Create(pki.alice.Signer());
  if (!signer.ok()) {
    out.problem = "signer: " + signer.error().ToString();
    return out;
  }
  smime::Recipient rcpt{pki.carol.cert};
  std::vector<std::string> messages;
  messages.reserve(records);
  for (size_t i = 0; i < records; ++i) {
    messages.push_back(BenchMessage("intake" + std::to_string(i % 50) + "@partner.example",
                                    "smime-" + std::to_string(i), message_bytes));
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& m : messages) {
    auto sealed = (*engine)->SignAndEncrypt(m, *signer, std::span(&rcpt, 1));
    if (!sealed.ok()) {
      out.problem = "sign+encrypt: " + sealed.error().ToString();
      return out;
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace sg::portal::bench
