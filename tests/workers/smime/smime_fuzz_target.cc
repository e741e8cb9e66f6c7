// libFuzzer target over Decrypt and Verify (and the MIME canonicaliser).
// Built as a real fuzzer under clang (-fsanitize=fuzzer); the default suite
// drives the same entry point from smime_fuzz_smoke_test.cc.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"

namespace {

struct FuzzState {
  std::unique_ptr<sg::smime::SmimeEngine> engine = sg::smime::SmimeEngine::Create().value();
  sg::smime::TrustStore trust = sg::smime::testing::GetTestPki().Trust();
  std::vector<sg::smime::KeyPair> keys{sg::smime::testing::GetTestPki().alice.Pair(),
                                       sg::smime::testing::GetTestPki().bob.Pair()};
};

FuzzState& State() {
  static FuzzState state;
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzState& s = State();
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  (void)sg::smime::DetectSmime(msg);
  // Any outcome is fine; the fuzzer looks for crashes and leaks.
  s.engine->Verify(msg, s.trust, 1800000000).PermitUncheckedError();
  auto d = s.engine->Decrypt(msg, s.keys);
  if (d.ok()) s.engine->Verify(d->message, s.trust, 1800000000).PermitUncheckedError();
  sg::smime::CanonicaliseEntity(msg, s.engine->limits()).PermitUncheckedError();
  return 0;
}
