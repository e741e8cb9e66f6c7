// smimegate-bench-crypto-limit: the raw cost of the cryptography in one S/MIME
// message, measured with OpenSSL 3 EVP directly (issue #8, Part B).
//
// This is the FLOOR: the private- and public-key operations and the bulk
// cipher/hash throughput only, with no MIME parsing, no CMS/ASN.1 encoding,
// no base64, no I/O. bench/e2e/crypto_limit.py turns the JSON into raw CPU
// seconds per message for each scenario and into the "crypto limit"
// (cores / raw seconds per message) the end-to-end report compares against.
//
// What is timed, for --key rsa2048 (RSA-2048) or p256 (ECDSA/ECDH P-256):
//   sign                   EVP_PKEY_sign of a SHA-256 digest (RSA PKCS#1 v1.5 /
//                          ECDSA), i.e. the signer's private-key operation.
//   verify                 EVP_PKEY_verify of that signature.
//   key_transport_encrypt  RSA: PKCS#1 v1.5 public encrypt of a 32-byte
//                          content key (CMS's default key transport).
//                          P-256: ephemeral key generation + ECDH derive +
//                          ANSI X9.63 KDF (SHA-256) to a 32-byte KEK
//                          (CMS ECDH key agreement; the AES key wrap of the
//                          32-byte key on top is negligible and not timed).
//   key_transport_decrypt  RSA: private decrypt of that block.
//                          P-256: ECDH derive with the recipient key + KDF.
//   sha256_bytes_per_s, aes256cbc_bytes_per_s (encrypt),
//   aes256cbc_decrypt_bytes_per_s: throughput over a --buffer (64 KiB) buffer.
// Each operation runs for --seconds of wall-clock time on ONE thread; cores are
// multiplied in Python (os.cpu_count()). Costs are this thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID) per op, so a machine shared with the load
// generator or other jobs does not inflate them; wall time is in "ops".
//
// Output: one JSON object on stdout, e.g.
//   {"key":"rsa2048","sign":0.00098,"sign_ops_per_s":1020.4, ...,
//    "sha256_bytes_per_s":1.9e9,"aes256cbc_bytes_per_s":1.0e9, ...}
// Top-level op fields are seconds per op; "<op>_ops_per_s" their inverse;
// "ops" holds the details (iterations, elapsed). Exit 0 ok, 1 OpenSSL
// failure, 2 usage error.

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct KdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using Kdf = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter>;

// One benchmarked operation: returns false on an OpenSSL failure.
using Op = std::function<bool()>;

struct Timing {
  long long iterations = 0;
  double elapsed_s = 0;  // wall clock
  double cpu_s = 0;      // this thread's CPU time
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs op until `seconds` have passed (checking the clock every batch so the
// clock read is not in the measured cost of fast ops). A short warm-up first.
bool TimeOp(const Op& op, double seconds, Timing* out) {
  for (int i = 0; i < 3; ++i) {
    if (!op()) return false;
  }
  long long n = 0;
  long long batch = 1;
  const auto start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (long long i = 0; i < batch; ++i) {
      if (!op()) return false;
    }
    n += batch;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    // Aim for ~100 clock reads per measurement.
    if (elapsed < seconds / 100 && batch < (1LL << 20)) batch *= 2;
  }
  out->iterations = n;
  out->elapsed_s = elapsed;
  out->cpu_s = ThreadCpuSeconds() - cpu_start;
  return true;
}

Pkey GenerateKey(const std::string& key_type) {
  EVP_PKEY* raw = nullptr;
  if (key_type == "rsa2048") {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  }
  return Pkey(raw);
}

PkeyCtx NewCtx(EVP_PKEY* key) { return PkeyCtx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)); }

// The X9.63 KDF (SHA-256) CMS uses after ECDH: shared secret -> 32-byte KEK.
// The SharedInfo is the DER ECC-CMS-SharedInfo in real CMS (~30 bytes); a
// same-sized constant stands in for it here.
class X963Kdf {
 public:
  bool Init() {
    kdf_.reset(EVP_KDF_fetch(nullptr, "X963KDF", nullptr));
    if (!kdf_) return false;
    ctx_.reset(EVP_KDF_CTX_new(kdf_.get()));
    return ctx_ != nullptr;
  }
  bool Derive(const unsigned char* secret, size_t secret_len, unsigned char* kek) {
    static unsigned char info[32] = {0x30, 0x1e, 0x30, 0x0b, 0x06, 0x09};
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(secret),
                                          secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
        OSSL_PARAM_construct_end()};
    return EVP_KDF_derive(ctx_.get(), kek, 32, params) == 1;
  }

 private:
  Kdf kdf_;
  KdfCtx ctx_;
};

bool EcdhDerive(EVP_PKEY* priv, EVP_PKEY* peer, std::vector<unsigned char>* secret) {
  PkeyCtx ctx = NewCtx(priv);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1) {
    return false;
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return false;
  secret->resize(len);
  if (EVP_PKEY_derive(ctx.get(), secret->data(), &len) != 1) return false;
  secret->resize(len);
  return true;
}

struct Bench {
  std::string key_type;
  double seconds = 1.0;
  size_t buffer = 65536;
  nlohmann::json out = nlohmann::json::object();

  bool Record(const std::string& name, const Op& op) {
    Timing t;
    if (!TimeOp(op, seconds, &t)) {
      std::fprintf(stderr, "crypto-limit: %s failed\n", name.c_str());
      return false;
    }
    const double per_op = t.cpu_s / static_cast<double>(t.iterations);
    out[name] = per_op;
    out[name + "_ops_per_s"] = 1.0 / per_op;
    out["ops"][name] = {{"seconds_per_op", per_op},
                        {"ops_per_s", 1.0 / per_op},
                        {"wall_seconds_per_op", t.elapsed_s / static_cast<double>(t.iterations)},
                        {"iterations", t.iterations},
                        {"cpu_s", t.cpu_s},
                        {"elapsed_s", t.elapsed_s}};
    return true;
  }

  bool RecordThroughput(const std::string& name, const Op& op) {
    Timing t;
    if (!TimeOp(op, seconds, &t)) {
      std::fprintf(stderr, "crypto-limit: %s failed\n", name.c_str());
      return false;
    }
    out[name] = static_cast<double>(buffer) * static_cast<double>(t.iterations) / t.cpu_s;
    return true;
  }

  bool RunPublicKeyOps() {
    Pkey key = GenerateKey(key_type);
    if (!key) return false;
    const bool rsa = key_type == "rsa2048";

    unsigned char digest[32];
    RAND_bytes(digest, sizeof(digest));
    PkeyCtx sign_ctx = NewCtx(key.get());
    if (!sign_ctx || EVP_PKEY_sign_init(sign_ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(sign_ctx.get(), EVP_sha256()) != 1) {
      return false;
    }
    if (rsa && EVP_PKEY_CTX_set_rsa_padding(sign_ctx.get(), RSA_PKCS1_PADDING) != 1) return false;
    std::vector<unsigned char> sig(static_cast<size_t>(EVP_PKEY_get_size(key.get())));
    size_t sig_len = sig.size();
    auto sign = [&] {
      sig_len = sig.size();
      return EVP_PKEY_sign(sign_ctx.get(), sig.data(), &sig_len, digest, sizeof(digest)) == 1;
    };
    if (!Record("sign", sign)) return false;
    if (!sign()) return false;

    PkeyCtx verify_ctx = NewCtx(key.get());
    if (!verify_ctx || EVP_PKEY_verify_init(verify_ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(verify_ctx.get(), EVP_sha256()) != 1) {
      return false;
    }
    if (rsa && EVP_PKEY_CTX_set_rsa_padding(verify_ctx.get(), RSA_PKCS1_PADDING) != 1) {
      return false;
    }
    if (!Record("verify", [&] {
          return EVP_PKEY_verify(verify_ctx.get(), sig.data(), sig_len, digest, sizeof(digest)) ==
                 1;
        })) {
      return false;
    }

    unsigned char cek[32];
    RAND_bytes(cek, sizeof(cek));
    if (rsa) return RunRsaKeyTransport(key.get(), cek);
    return RunEcdhKeyAgreement(key.get());
  }

  bool RunRsaKeyTransport(EVP_PKEY* key, const unsigned char* cek) {
    PkeyCtx enc_ctx = NewCtx(key);
    if (!enc_ctx || EVP_PKEY_encrypt_init(enc_ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(enc_ctx.get(), RSA_PKCS1_PADDING) != 1) {
      return false;
    }
    std::vector<unsigned char> block(static_cast<size_t>(EVP_PKEY_get_size(key)));
    size_t block_len = block.size();
    auto encrypt = [&] {
      block_len = block.size();
      return EVP_PKEY_encrypt(enc_ctx.get(), block.data(), &block_len, cek, 32) == 1;
    };
    if (!Record("key_transport_encrypt", encrypt)) return false;
    if (!encrypt()) return false;

    PkeyCtx dec_ctx = NewCtx(key);
    if (!dec_ctx || EVP_PKEY_decrypt_init(dec_ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(dec_ctx.get(), RSA_PKCS1_PADDING) != 1) {
      return false;
    }
    std::vector<unsigned char> plain(block.size());
    return Record("key_transport_decrypt", [&] {
      size_t plain_len = plain.size();
      return EVP_PKEY_decrypt(dec_ctx.get(), plain.data(), &plain_len, block.data(), block_len) ==
                 1 &&
             plain_len == 32;
    });
  }

  bool RunEcdhKeyAgreement(EVP_PKEY* recipient) {
    X963Kdf kdf;
    if (!kdf.Init()) return false;
    std::vector<unsigned char> secret;
    unsigned char kek[32];
    // Sender: a fresh ephemeral key per message, ECDH with the recipient's
    // public key, KDF.
    auto encrypt = [&] {
      Pkey eph(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      return eph && EcdhDerive(eph.get(), recipient, &secret) &&
             kdf.Derive(secret.data(), secret.size(), kek);
    };
    if (!Record("key_transport_encrypt", encrypt)) return false;
    // Recipient: ECDH of its private key with the sender's ephemeral public
    // key, KDF.
    Pkey eph(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!eph) return false;
    return Record("key_transport_decrypt", [&] {
      return EcdhDerive(recipient, eph.get(), &secret) &&
             kdf.Derive(secret.data(), secret.size(), kek);
    });
  }

  bool RunBulkOps() {
    std::vector<unsigned char> in(buffer);
    std::vector<unsigned char> outbuf(buffer + 32);
    RAND_bytes(in.data(), static_cast<int>(in.size()));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!RecordThroughput("sha256_bytes_per_s", [&] {
          return EVP_Digest(in.data(), in.size(), md, &md_len, EVP_sha256(), nullptr) == 1;
        })) {
      return false;
    }
    unsigned char key[32];
    unsigned char iv[16];
    RAND_bytes(key, sizeof(key));
    RAND_bytes(iv, sizeof(iv));
    CipherCtx enc(EVP_CIPHER_CTX_new());
    if (!enc || EVP_EncryptInit_ex(enc.get(), EVP_aes_256_cbc(), nullptr, key, iv) != 1) {
      return false;
    }
    // One long CBC stream: each call continues the chain, as encrypting one
    // big message would.
    if (!RecordThroughput("aes256cbc_bytes_per_s", [&] {
          int n = 0;
          return EVP_EncryptUpdate(enc.get(), outbuf.data(), &n, in.data(),
                                   static_cast<int>(in.size())) == 1;
        })) {
      return false;
    }
    CipherCtx dec(EVP_CIPHER_CTX_new());
    if (!dec || EVP_DecryptInit_ex(dec.get(), EVP_aes_256_cbc(), nullptr, key, iv) != 1) {
      return false;
    }
    EVP_CIPHER_CTX_set_padding(dec.get(), 0);
    return RecordThroughput("aes256cbc_decrypt_bytes_per_s", [&] {
      int n = 0;
      return EVP_DecryptUpdate(dec.get(), outbuf.data(), &n, in.data(),
                               static_cast<int>(in.size())) == 1;
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  Bench bench;
  CLI::App app{
      "Raw S/MIME crypto cost per operation (the floor: no MIME, no CMS encoding), "
      "single-threaded; prints JSON"};
  app.add_option("--key", bench.key_type, "Key type")
      ->required()
      ->check(CLI::IsMember({"rsa2048", "p256"}));
  app.add_option("--seconds", bench.seconds, "Wall-clock seconds per operation")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--buffer", bench.buffer, "Buffer size for the hash/cipher throughput")
      ->check(CLI::Range(static_cast<size_t>(16), static_cast<size_t>(1) << 28));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  bench.buffer -= bench.buffer % 16;  // whole AES blocks

  bench.out["key"] = bench.key_type;
  bench.out["seconds"] = bench.seconds;
  bench.out["buffer_bytes"] = bench.buffer;
  bench.out["threads"] = 1;
  bench.out["openssl_version"] = OpenSSL_version(OPENSSL_VERSION);
  bench.out["ops"] = nlohmann::json::object();
  if (!bench.RunPublicKeyOps() || !bench.RunBulkOps()) {
    std::fprintf(stderr, "crypto-limit: OpenSSL error: ");
    ERR_print_errors_fp(stderr);
    return 1;
  }
  std::printf("%s\n", bench.out.dump(2).c_str());
  return 0;
}
