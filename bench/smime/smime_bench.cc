// S/MIME engine benchmarks: sign, encrypt, sign+encrypt and decrypt+verify
// for 2 KB .. 10 MB messages with RSA-2048 and P-256 keys, each beside
//  - Raw*: the bare private/public-key operations the step needs (the
//    physical limit; Raw*Digest adds SHA-256 over the message), and
//  - Naive*: OpenSSL's high-level CMS API used the naive way (smime_bench_naive.h),
//  - EngineCms: the engine's previous path (issue 21): for encrypt and
//    sign+encrypt EncryptOptions::use_cms, i.e. CMS_encrypt instead of the
//    prepared EnvelopedData encoder; for decrypt+verify
//    VerifyOptions::use_chain_memo off, i.e. every chain validated in full.
// smime_ratios.py turns the JSON output into ratios; never quote a bare time.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <ctime>
#include <string>

#include "bench/smime/smime_bench_naive.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime::bench {
namespace {

using testing::GetTestPki;
using testing::TestIdentity;

constexpr int64_t kSizes[] = {2 << 10, 10 << 10, 100 << 10, 1 << 20, 10 << 20};

struct Fixture {
  std::unique_ptr<SmimeEngine> engine = SmimeEngine::Create().value();
  TrustStore trust = GetTestPki().Trust();
};
Fixture& F() {
  static Fixture f;
  return f;
}

// alg 0: RSA-2048 (alice signs, carol receives); alg 1: P-256 (bob both).
const TestIdentity& SignerOf(int alg) { return alg == 0 ? GetTestPki().alice : GetTestPki().bob; }
const TestIdentity& RecipientOf(int alg) {
  return alg == 0 ? GetTestPki().carol : GetTestPki().bob;
}

std::string Message(int64_t size, const std::string& from) {
  std::string body;
  body.reserve(static_cast<size_t>(size) + 100);
  const std::string line =
      "The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
  while (static_cast<int64_t>(body.size()) < size) body += line;
  return testing::SampleMessage(from, body);
}

NaivePem Pem(int alg) {
  const auto& pki = GetTestPki();
  return NaivePem{SignerOf(alg).cert_pem,    SignerOf(alg).key_pem,    pki.intermediate.cert_pem,
                  RecipientOf(alg).cert_pem, RecipientOf(alg).key_pem, pki.root.cert_pem};
}

// Entity as the naive path gets it: the canonical MIME body, no outer headers.
std::string Entity(const std::string& msg) {
  return SplitForSmime(msg, true, MimeLimits{}).value().entity;
}

void Label(benchmark::State& state, int alg, int64_t size) {
  state.SetLabel(std::string(alg == 0 ? "rsa2048" : "p256") + "/" + std::to_string(size));
  state.SetBytesProcessed(state.iterations() * size);
  state.SetItemsProcessed(state.iterations());
}

// ---- raw limits -----------------------------------------------------------

struct RawOps {
  EVP_PKEY_CTX* sign = nullptr;    // private key: sign a digest
  EVP_PKEY_CTX* verify = nullptr;  // public key: verify it
  EVP_PKEY_CTX* priv = nullptr;    // private key: RSA decrypt / ECDH derive
  EVP_PKEY_CTX* pub = nullptr;     // public key: RSA encrypt (RSA only)
  EVP_PKEY_CTX* keygen = nullptr;  // ephemeral EC key (EC only)
  unsigned char digest[32] = {1, 2, 3};
  unsigned char sig[512];
  size_t sig_len = sizeof(sig);
  unsigned char wrapped[512];
  size_t wrapped_len = sizeof(wrapped);
  EVP_PKEY* peer = nullptr;
};

RawOps& Raw(int alg) {
  static RawOps ops[2];
  static bool init[2] = {false, false};
  RawOps& o = ops[alg];
  if (init[alg]) return o;
  init[alg] = true;
  EVP_PKEY* key = SignerOf(alg).key.get();
  EVP_PKEY* pubkey = X509_get0_pubkey(SignerOf(alg).cert.get());
  o.sign = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  EVP_PKEY_sign_init(o.sign);
  o.verify = EVP_PKEY_CTX_new_from_pkey(nullptr, pubkey, nullptr);
  EVP_PKEY_verify_init(o.verify);
  if (alg == 0) {
    EVP_PKEY_CTX_set_rsa_padding(o.sign, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(o.sign, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_padding(o.verify, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(o.verify, EVP_sha256());
    o.pub = EVP_PKEY_CTX_new_from_pkey(nullptr, pubkey, nullptr);
    EVP_PKEY_encrypt_init(o.pub);
    EVP_PKEY_encrypt(o.pub, o.wrapped, &o.wrapped_len, o.digest, 32);
    o.priv = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    EVP_PKEY_decrypt_init(o.priv);
  } else {
    o.keygen = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY_keygen_init(o.keygen);
    EVP_PKEY_CTX_set_group_name(o.keygen, "P-256");
    EVP_PKEY_keygen(o.keygen, &o.peer);
    o.priv = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    EVP_PKEY_derive_init(o.priv);
    EVP_PKEY_derive_set_peer(o.priv, o.peer);
  }
  EVP_PKEY_sign(o.sign, o.sig, &o.sig_len, o.digest, 32);
  return o;
}

void RawSign(RawOps& o) {
  size_t len = sizeof(o.sig);
  EVP_PKEY_sign(o.sign, o.sig, &len, o.digest, 32);
}
void RawVerify(RawOps& o) { EVP_PKEY_verify(o.verify, o.sig, o.sig_len, o.digest, 32); }
void RawPrivate(RawOps& o, int alg) {
  unsigned char out[512];
  size_t len = sizeof(out);
  if (alg == 0) {
    EVP_PKEY_decrypt(o.priv, out, &len, o.wrapped, o.wrapped_len);
  } else {
    EVP_PKEY_derive(o.priv, out, &len);
  }
}
void RawPublic(RawOps& o, int alg) {  // what encrypting to one recipient costs at least
  unsigned char out[512];
  size_t len = sizeof(out);
  if (alg == 0) {
    EVP_PKEY_encrypt(o.pub, out, &len, o.digest, 32);
  } else {
    EVP_PKEY* eph = nullptr;
    EVP_PKEY_keygen(o.keygen, &eph);
    EVP_PKEY_CTX* d = EVP_PKEY_CTX_new_from_pkey(nullptr, eph, nullptr);
    EVP_PKEY_derive_init(d);
    EVP_PKEY_derive_set_peer(d, X509_get0_pubkey(RecipientOf(alg).cert.get()));
    EVP_PKEY_derive(d, out, &len);
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(eph);
  }
}

// Raw limit of each operation: op 0 sign, 1 encrypt, 2 sign+encrypt, 3 decrypt+verify.
void BM_Raw(benchmark::State& state) {
  int op = static_cast<int>(state.range(0));
  int alg = static_cast<int>(state.range(1));
  RawOps& o = Raw(alg);
  for (auto _ : state) {
    if (op == 0 || op == 2) RawSign(o);
    if (op == 1 || op == 2) RawPublic(o, alg);
    if (op == 3) {
      RawPrivate(o, alg);
      RawVerify(o);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The size-dependent part of the limit: SHA-256 over the message for a
// signature, AES-256-CBC for encryption, both for the combined operations.
void BM_RawBulk(benchmark::State& state) {
  int op = static_cast<int>(state.range(0));
  int64_t size = state.range(1);
  std::string data(static_cast<size_t>(size), 'x');
  std::string out(data.size() + 32, '\0');
  EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_CIPHER* aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  unsigned char key[32] = {7}, iv[16] = {9}, md[32];
  for (auto _ : state) {
    if (op != 1) EVP_Digest(data.data(), data.size(), md, nullptr, sha, nullptr);
    if (op != 0) {
      int len = 0;
      EVP_EncryptInit_ex2(c, aes, key, iv, nullptr);
      EVP_EncryptUpdate(c, reinterpret_cast<unsigned char*>(out.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()),
                        static_cast<int>(data.size()));
      benchmark::DoNotOptimize(out.data());
    }
  }
  EVP_CIPHER_CTX_free(c);
  EVP_CIPHER_free(aes);
  EVP_MD_free(sha);
  state.SetItemsProcessed(state.iterations());
}

// ---- the engine -----------------------------------------------------------

// |use_cms|: the previous path (EngineCms): CMS_encrypt instead of the
// prepared encoder, no chain memo for verification, CMS_decrypt instead of
// the prepared decoder. |cms_decrypt|: only the last (EngineCmsDecrypt).
void RunEngine(benchmark::State& state, bool use_cms, bool cms_decrypt = false) {
  int op = static_cast<int>(state.range(0));
  int alg = static_cast<int>(state.range(1));
  int64_t size = state.range(2);
  Fixture& f = F();
  const TestIdentity& signer = SignerOf(alg);
  PreparedSigner id =
      PreparedSigner::Create(signer.Signer()).value();  // once per user, as workers do
  Recipient r{RecipientOf(alg).cert};
  r.prepared = PreparedRecipient::Create(r.cert);  // once per certificate, as workers do
  EncryptOptions enc_options;
  enc_options.use_cms = use_cms;
  VerifyOptions verify_options;
  verify_options.use_chain_memo = !use_cms;
  DecryptOptions dec_options;
  dec_options.use_prepared = !use_cms && !cms_decrypt;
  std::string msg = Message(size, signer.email);
  std::string sealed;
  KeyPair kp = RecipientOf(alg).Pair();
  if (op == 3) sealed = f.engine->SignAndEncrypt(msg, id, std::span(&r, 1))->message;
  std::time_t now = std::time(nullptr);
  for (auto _ : state) {
    switch (op) {
      case 0:
        benchmark::DoNotOptimize(f.engine->Sign(msg, id));
        break;
      case 1:
        benchmark::DoNotOptimize(f.engine->Encrypt(msg, std::span(&r, 1), enc_options));
        break;
      case 2:
        benchmark::DoNotOptimize(
            f.engine->SignAndEncrypt(msg, id, std::span(&r, 1), {}, enc_options));
        break;
      case 3: {
        auto d = f.engine->Decrypt(sealed, std::span(&kp, 1), dec_options);
        auto v = f.engine->Verify(d->message, f.trust, now, verify_options);
        if (v->status != VerifyStatus::kGood) state.SkipWithError("verify failed");
        break;
      }
    }
  }
  Label(state, alg, size);
}

// Decrypt+verify of an AES-256-GCM (AuthEnvelopedData) sign+encrypt
// message, the prepared decoder (prepared:1) against CMS_decrypt
// (prepared:0), in ABBA order within one run (GcmArgs); smime_abba.py
// pairs the rounds into ratios.
void BM_EngineGcmDecrypt(benchmark::State& state) {
  const int alg = static_cast<int>(state.range(0));
  const int64_t size = state.range(1);
  Fixture& f = F();
  const TestIdentity& signer = SignerOf(alg);
  Recipient r{RecipientOf(alg).cert};
  r.prepared = PreparedRecipient::Create(r.cert);
  EncryptOptions enc_options;
  enc_options.cipher = ContentCipher::kAes256Gcm;
  DecryptOptions dec_options;
  dec_options.use_prepared = state.range(2) == 1;
  const std::string sealed = f.engine
                                 ->SignAndEncrypt(Message(size, signer.email), signer.Signer(),
                                                  std::span(&r, 1), {}, enc_options)
                                 ->message;
  KeyPair kp = RecipientOf(alg).Pair();
  std::time_t now = std::time(nullptr);
  for (auto _ : state) {
    auto d = f.engine->Decrypt(sealed, std::span(&kp, 1), dec_options);
    if (!d.ok() || !d->auth_enveloped || d->prepared != dec_options.use_prepared) {
      state.SkipWithError("decrypt failed or took the other path");
      break;
    }
    auto v = f.engine->Verify(d->message, f.trust, now);
    if (v->status != VerifyStatus::kGood) state.SkipWithError("verify failed");
  }
  Label(state, alg, size);
}

void BM_Engine(benchmark::State& state) { RunEngine(state, false); }
void BM_EngineCms(benchmark::State& state) { RunEngine(state, true); }
void BM_EngineCmsDecrypt(benchmark::State& state) { RunEngine(state, false, true); }

void BM_Naive(benchmark::State& state) {
  int op = static_cast<int>(state.range(0));
  int alg = static_cast<int>(state.range(1));
  int64_t size = state.range(2);
  NaivePem pem = Pem(alg);
  std::string msg = Message(size, SignerOf(alg).email);
  std::string entity = Entity(msg);
  // Decrypt+verify reads the same sealed message the engine is measured on
  // (what a client sent), so both paths do identical cryptographic work.
  std::string sealed;
  if (op == 3) {
    Recipient r{RecipientOf(alg).cert};
    sealed = F().engine->SignAndEncrypt(msg, SignerOf(alg).Signer(), std::span(&r, 1))->message;
  }
  for (auto _ : state) {
    switch (op) {
      case 0:
        benchmark::DoNotOptimize(NaiveSign(pem, entity));
        break;
      case 1:
        benchmark::DoNotOptimize(NaiveEncrypt(pem, entity));
        break;
      case 2:
        benchmark::DoNotOptimize(NaiveSignEncrypt(pem, entity));
        break;
      case 3:
        if (!NaiveDecryptVerify(pem, sealed)) state.SkipWithError("naive verify failed");
        break;
    }
  }
  Label(state, alg, size);
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"op", "alg", "size"});
  for (int op = 0; op < 4; ++op) {
    for (int alg = 0; alg < 2; ++alg) {
      for (int64_t size : kSizes) b->Args({op, alg, size});
    }
  }
}

void CmsArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"op", "alg", "size"});
  for (int op = 1; op < 4; ++op) {
    for (int alg = 0; alg < 2; ++alg) {
      for (int64_t size : kSizes) b->Args({op, alg, size});
    }
  }
}

void DecryptArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"op", "alg", "size"});
  for (int alg = 0; alg < 2; ++alg) {
    for (int64_t size : kSizes) b->Args({3, alg, size});
  }
}

// ABBA: rounds 0..7 alternate which path runs first (0 1 1 0 0 1 1 0).
void GcmArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"alg", "size", "prepared", "round"});
  for (int alg = 0; alg < 2; ++alg) {
    for (int64_t size : {int64_t{10} << 10, int64_t{100} << 10}) {
      for (int round = 0; round < 8; ++round) {
        const int first = (round % 4 == 0 || round % 4 == 3) ? 0 : 1;
        b->Args({alg, size, first, round});
        b->Args({alg, size, 1 - first, round});
      }
    }
  }
}

void RawArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"op", "alg"});
  for (int op = 0; op < 4; ++op) {
    for (int alg = 0; alg < 2; ++alg) b->Args({op, alg});
  }
}

void BulkArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"op", "size"});
  for (int op = 0; op < 4; ++op) {
    for (int64_t size : kSizes) b->Args({op, size});
  }
}

BENCHMARK(BM_Raw)->Apply(RawArgs)->MinTime(0.2);
BENCHMARK(BM_RawBulk)->Apply(BulkArgs)->MinTime(0.2);
BENCHMARK(BM_Engine)->Apply(Args)->MinTime(0.2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EngineCms)->Apply(CmsArgs)->MinTime(0.2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EngineCmsDecrypt)->Apply(DecryptArgs)->MinTime(0.2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Naive)->Apply(Args)->MinTime(0.2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EngineGcmDecrypt)->Apply(GcmArgs)->MinTime(0.2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sg::smime::bench

BENCHMARK_MAIN();
