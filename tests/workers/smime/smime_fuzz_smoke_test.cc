// Structured smoke run of the smime_cms fuzz target (smime_fuzz_target.cc)
// in the default g++ suite: messages the engine makes with the fuzz PKI,
// then seeded random mutations of the MIME text and of the CMS DER inside
// it, for a few seconds. (smime_cms_fuzz_smoke replays the committed corpus;
// scripts/fuzz.sh smime_cms runs the real fuzzer.)
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "tests/workers/smime/smime_fuzz_pki.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

int Feed(const std::string& s) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Mutate(std::string s, std::mt19937& rng) {
  if (s.empty()) s.push_back('x');
  std::uniform_int_distribution<int> op(0, 5);
  int rounds = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < rounds && !s.empty(); ++i) {
    size_t at = rng() % s.size();
    switch (op(rng)) {
      case 0:
        s[at] = static_cast<char>(rng());
        break;  // flip a byte
      case 1:
        s[at] ^= static_cast<char>(1u << (rng() % 8));
        break;  // flip a bit
      case 2:
        s.erase(at, 1 + rng() % 16);
        break;  // delete
      case 3:
        s.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng())));
        break;
      case 4:
        s.resize(at);
        break;   // truncate
      case 5: {  // splice a piece of the input elsewhere
        std::string piece = s.substr(rng() % s.size(), 1 + rng() % 64);
        s = s.substr(0, at) + piece + s.substr(at);
        break;
      }
    }
  }
  return s;
}

TEST(FuzzSmoke, DecryptVerifySurviveMutations) {
  const auto& pki = GetFuzzPki();  // the keys the target decrypts with
  auto engine = SmimeEngine::Create().value();
  Recipient cbc{pki.alice.cert};
  Recipient gcm{pki.bob.cert, true};
  std::vector<std::string> seeds = {
      SampleMessage(),
      engine->Sign(SampleMessage(), pki.Signer(pki.alice)).value(),
      engine->Sign(SampleMessage("bob@example.com"), pki.Signer(pki.bob)).value(),
      engine->Encrypt(SampleMessage(), std::span(&cbc, 1))->message,
      engine->Encrypt(SampleMessage(), std::span(&gcm, 1))->message,
      engine->SignAndEncrypt(SampleMessage(), pki.Signer(pki.alice), std::span(&cbc, 1))->message,
  };
  for (const std::string& s : seeds) EXPECT_EQ(Feed(s), 0);

  std::mt19937 rng(20261128);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  size_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string& seed = seeds[rng() % seeds.size()];
    if (rng() % 2 == 0) {
      Feed(Mutate(seed, rng));
    } else if (seed.find("pkcs7-mime") != std::string::npos) {
      // Mutate the CMS itself and wrap it again, so mutations reach the ASN.1 decoder.
      Feed(WrapP7m("alice@example.com", Mutate(ExtractP7m(seed), rng), "enveloped-data"));
    } else if (seed.find("multipart/signed") != std::string::npos) {
      DetachedParts p = ExtractDetached(seed);
      Feed(WrapDetached("alice@example.com", p.content, Mutate(p.der, rng)));
    }
    ++runs;
  }
  EXPECT_GT(runs, 100u);  // the target is fast enough to be fuzzed at all
  std::printf("fuzz smoke: %zu inputs in 3 s\n", runs);
}

}  // namespace
}  // namespace sg::smime
