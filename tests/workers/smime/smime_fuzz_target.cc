// libFuzzer target over Decrypt, Verify and Harvest of the S/MIME engine:
// any message from the internet (fuzz target "smime_cms").
//
// The seeds (corpus/smime_cms, made by scripts/fuzz-seeds.sh with openssl
// cms, gpgsm and NSS cmsutil) are signed by and encrypted to the fixed fuzz
// PKI (smime_fuzz_pki.h), so mutations start from messages that open.
// Properties beyond "no crash":
//   - Verify returns an error only for resource limits; everything else
//     about the message is a status;
//   - a good signature has a signer certificate and a validated chain, and
//     its certificate names the From address;
//   - Decrypt fails only with the documented codes; what it opens is a
//     message with a parsable header, and it names the key that opened it;
//   - Decrypt in one step and in two (OpenEnvelope, then Decrypt) agree, and
//     opening the same bytes twice gives the same digests (the
//     DecryptFailureGuard compares them: issue 13 point 1);
//   - only AES (CBC or GCM) content is ever decrypted by default: no RC2,
//     DES or 3DES (issue 13 point 2), and GCM means AuthEnvelopedData.
// Built as a real fuzzer by scripts/fuzz.sh; the default suite drives the
// same entry point from smime_fuzz_smoke_test.cc and the smoke runner.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/support/fuzz_check.h"
#include "tests/workers/smime/smime_fuzz_pki.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"

namespace {

using namespace sg::smime;  // NOLINT: a test of this namespace
using sg::ErrorCode;

constexpr std::time_t kNow = 1800000000;  // 2027-01-15, inside the fuzz PKI's validity

struct FuzzState {
  std::unique_ptr<SmimeEngine> engine = SmimeEngine::Create().value();
  std::vector<KeyPair> keys{testing::GetFuzzPki().alice, testing::GetFuzzPki().bob};
};

FuzzState& State() {
  static FuzzState state;
  return state;
}

void CheckVerify(const SmimeEngine& engine, std::string_view msg) {
  auto v = engine.Verify(msg, testing::GetFuzzPki().trust, kNow);
  if (!v.ok()) {
    SG_FUZZ_CHECK(v.error().code == ErrorCode::kResourceExhausted);
    return;
  }
  if (v->status != VerifyStatus::kGood) return;
  SG_FUZZ_CHECK(v->signer != nullptr);
  SG_FUZZ_CHECK(!v->chain.empty());
  bool names_from = false;
  for (const std::string& a : v->signer_addresses) names_from = names_from || a == v->from_address;
  SG_FUZZ_CHECK(names_from);
}

// The guard's view of decryption (OpenEnvelope, then Decrypt of the
// envelope) must be the same as Decrypt in one step, `one`.
void CheckTwoSteps(const SmimeEngine& engine, const std::vector<KeyPair>& keys,
                   std::string_view msg, const sg::Result<DecryptResult>& one) {
  auto env = engine.OpenEnvelope(msg, keys);
  if (!env.ok()) {
    SG_FUZZ_CHECK(!one.ok());
    SG_FUZZ_CHECK(env.error().code == one.error().code);
    return;
  }
  SG_FUZZ_CHECK(env->key_index < keys.size());
  SG_FUZZ_CHECK(env->content_key_digest.size() == 32 && env->ciphertext_digest.size() == 32);
  auto again = engine.OpenEnvelope(msg, keys);
  SG_FUZZ_CHECK(again.ok());
  SG_FUZZ_CHECK(again->content_key_digest == env->content_key_digest);
  SG_FUZZ_CHECK(again->ciphertext_digest == env->ciphertext_digest);
  auto two = engine.Decrypt(*env, keys);
  SG_FUZZ_CHECK(two.ok() == one.ok());
  if (!two.ok()) {
    SG_FUZZ_CHECK(two.error().code == one.error().code);
    return;
  }
  SG_FUZZ_CHECK(two->message == one->message && two->key_index == one->key_index);
  SG_FUZZ_CHECK(two->cipher == env->cipher && two->auth_enveloped == env->auth_enveloped);
}

// True when the message opened.
bool CheckDecrypt(const SmimeEngine& engine, const std::vector<KeyPair>& keys,
                  std::string_view msg) {
  auto d = engine.Decrypt(msg, keys);
  CheckTwoSteps(engine, keys, msg, d);
  if (!d.ok()) {
    ErrorCode c = d.error().code;
    SG_FUZZ_CHECK(c == ErrorCode::kInvalidArgument || c == ErrorCode::kCorruption ||
                  c == ErrorCode::kNotFound || c == ErrorCode::kUnsupported ||
                  c == ErrorCode::kResourceExhausted);
    return false;
  }
  SG_FUZZ_CHECK(d->key_index < keys.size());
  SG_FUZZ_CHECK(d->cipher.starts_with("aes-"));  // default options: no RC2, DES, 3DES
  SG_FUZZ_CHECK(d->auth_enveloped == d->cipher.ends_with("-gcm"));
  SG_FUZZ_CHECK(ParseEntity(d->message, engine.limits()).ok());
  CheckVerify(engine, d->message);  // signed inside encrypted: what clients send
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzState& s = State();
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  const SmimeKind kind = DetectSmime(msg);
  CheckVerify(*s.engine, msg);
  // The worker routes by DetectSmime: what opens must be routed to Decrypt.
  if (CheckDecrypt(*s.engine, s.keys, msg)) {
    SG_FUZZ_CHECK(kind != SmimeKind::kNone && kind != SmimeKind::kSignedDetached);
  }
  auto h = s.engine->Harvest(msg, testing::GetFuzzPki().trust, kNow);
  if (h.ok()) SG_FUZZ_CHECK(h->cert != nullptr);
  return 0;
}
