#include "workers/smime/smime_engine.h"

#include <openssl/err.h>

#include "workers/smime/smime_chain_memo.h"

namespace sg::smime {

std::string_view VerifyStatusName(VerifyStatus status) {
  switch (status) {
    case VerifyStatus::kGood:
      return "good";
    case VerifyStatus::kBadSignature:
      return "bad_signature";
    case VerifyStatus::kUntrusted:
      return "untrusted";
    case VerifyStatus::kExpired:
      return "expired";
    case VerifyStatus::kWrongPurpose:
      return "wrong_purpose";
    case VerifyStatus::kWrongAddress:
      return "wrong_address";
    case VerifyStatus::kNoSignerCert:
      return "no_signer_cert";
    case VerifyStatus::kNotSigned:
      return "not_signed";
    case VerifyStatus::kMalformed:
      return "malformed";
    case VerifyStatus::kUnsupported:
      return "unsupported";
    case VerifyStatus::kWeakDigest:
      return "weak_digest";
    case VerifyStatus::kDateMismatch:
      return "date_mismatch";
    case VerifyStatus::kRevoked:
      return "revoked";
    case VerifyStatus::kRevocationUnknown:
      return "revocation_unknown";
  }
  return "unknown";
}

SmimeEngine::SmimeEngine(MimeLimits limits, SmimeMetrics* metrics)
    : limits_(limits), metrics_(metrics), chain_memo_(std::make_unique<internal::ChainMemo>()) {}

template <typename T>
T SmimeEngine::Record(SmimeMetrics::Op op, T result,
                      std::chrono::steady_clock::time_point start) const {
  if (metrics_ == nullptr) return result;
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  metrics_->Operation(op, result.ok() ? nullptr : &result.error(), took.count());
  return result;
}

Result<std::string> SmimeEngine::Sign(std::string_view message, const SignerIdentity& signer,
                                      const SignOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  if (options.rsa_pss)
    return Record(SmimeMetrics::kSign, SignWithCms(message, signer, options), start);
  PreparedSignerOptions prep;
  prep.digest = options.digest;
  prep.include_chain = options.include_chain;
  prep.announce_aes_gcm = options.announce_aes_gcm;
  auto prepared = PreparedSigner::Create(signer, prep);
  if (!prepared.ok()) {
    return Record(SmimeMetrics::kSign, Result<std::string>(std::move(prepared).error()), start);
  }
  return Record(SmimeMetrics::kSign, SignPrepared(message, *prepared, options), start);
}

Result<std::string> SmimeEngine::Sign(std::string_view message, const PreparedSigner& signer,
                                      const SignOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  return Record(SmimeMetrics::kSign, SignPrepared(message, signer, options), start);
}

Result<EncryptInfo> SmimeEngine::Encrypt(std::string_view message,
                                         std::span<const Recipient> recipients,
                                         const EncryptOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  return Record(SmimeMetrics::kEncrypt, EncryptImpl(message, recipients, options), start);
}

Result<DecryptResult> SmimeEngine::Decrypt(std::string_view message,
                                           std::span<const KeyPair> candidates,
                                           const DecryptOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  auto envelope = OpenEnvelopeImpl(message, candidates, options);
  if (!envelope.ok()) {
    return Record(SmimeMetrics::kDecrypt, Result<DecryptResult>(std::move(envelope).error()),
                  start);
  }
  return Record(SmimeMetrics::kDecrypt, DecryptImpl(*envelope, candidates, options), start);
}

Result<Envelope> SmimeEngine::OpenEnvelope(std::string_view message,
                                           std::span<const KeyPair> candidates,
                                           const DecryptOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  auto envelope = OpenEnvelopeImpl(message, candidates, options);
  // Only failures are counted here; a success is counted by Decrypt.
  if (envelope.ok()) return envelope;
  return Record(SmimeMetrics::kDecrypt, std::move(envelope), start);
}

Result<DecryptResult> SmimeEngine::Decrypt(const Envelope& envelope,
                                           std::span<const KeyPair> candidates,
                                           const DecryptOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  return Record(SmimeMetrics::kDecrypt, DecryptImpl(envelope, candidates, options), start);
}

Result<VerifyResult> SmimeEngine::Verify(std::string_view message, const TrustStore& trust,
                                         std::time_t now, const VerifyOptions& options) const {
  auto start = std::chrono::steady_clock::now();
  auto result = Record(SmimeMetrics::kVerify, VerifyImpl(message, trust, now, options), start);
  if (metrics_ != nullptr && result.ok()) metrics_->Verified(result->status);
  return result;
}

ChainMemoStats SmimeEngine::chain_memo_stats() const {
  return ChainMemoStats{chain_memo_->hits(), chain_memo_->misses(), chain_memo_->size()};
}

SmimeEngine::~SmimeEngine() {
  EVP_MD_free(sha256_);
  EVP_MD_free(sha384_);
  EVP_MD_free(sha512_);
  EVP_CIPHER_free(aes256_cbc_);
  EVP_CIPHER_free(aes128_cbc_);
  EVP_CIPHER_free(aes256_gcm_);
}

Result<std::unique_ptr<SmimeEngine>> SmimeEngine::Create(MimeLimits limits, SmimeMetrics* metrics) {
  std::unique_ptr<SmimeEngine> engine(new SmimeEngine(limits, metrics));
  // Explicit fetches once per process: no per-message provider lookups.
  engine->sha256_ = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  engine->sha384_ = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
  engine->sha512_ = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
  engine->aes256_cbc_ = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  engine->aes128_cbc_ = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  engine->aes256_gcm_ = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (!engine->sha256_ || !engine->sha384_ || !engine->sha512_ || !engine->aes256_cbc_ ||
      !engine->aes128_cbc_ || !engine->aes256_gcm_) {
    return MakeError(
        ErrorCode::kUnavailable,
        "smime engine: OpenSSL provider lacks SHA-2 or AES (" + TakeOpenSslError() + ")");
  }
  return engine;
}

const EVP_MD* SmimeEngine::Digest(DigestAlg alg) const {
  switch (alg) {
    case DigestAlg::kSha384:
      return sha384_;
    case DigestAlg::kSha512:
      return sha512_;
    case DigestAlg::kSha256:
      break;
  }
  return sha256_;
}

Result<EncryptInfo> SmimeEngine::SignAndEncrypt(std::string_view message,
                                                const SignerIdentity& signer,
                                                std::span<const Recipient> recipients,
                                                const SignOptions& sign_options,
                                                const EncryptOptions& encrypt_options) const {
  SG_ASSIGN_OR_RETURN(std::string signed_message, Sign(message, signer, sign_options));
  EncryptOptions inner = encrypt_options;
  inner.transport_encode = false;  // the signed bytes must reach the recipient unchanged
  return Encrypt(signed_message, recipients, inner);
}

Result<EncryptInfo> SmimeEngine::SignAndEncrypt(std::string_view message,
                                                const PreparedSigner& signer,
                                                std::span<const Recipient> recipients,
                                                const SignOptions& sign_options,
                                                const EncryptOptions& encrypt_options) const {
  SG_ASSIGN_OR_RETURN(std::string signed_message, Sign(message, signer, sign_options));
  EncryptOptions inner = encrypt_options;
  inner.transport_encode = false;  // the signed bytes must reach the recipient unchanged
  return Encrypt(signed_message, recipients, inner);
}

Result<HarvestResult> SmimeEngine::Harvest(std::string_view message, const TrustStore& trust,
                                           std::time_t now) const {
  VerifyOptions options;
  options.check_from_address = false;  // the certificate is filed under its own addresses
  SG_ASSIGN_OR_RETURN(VerifyResult v, Verify(message, trust, now, options));
  switch (v.status) {
    case VerifyStatus::kGood:
    case VerifyStatus::kUntrusted:
    case VerifyStatus::kExpired:
    case VerifyStatus::kWrongPurpose:
      break;
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       "harvest: no intact signature (" + std::string(VerifyStatusName(v.status)) +
                           (v.detail.empty() ? "" : ": " + v.detail) + ")");
  }
  if (!v.signer)
    return MakeError(ErrorCode::kInvalidArgument, "harvest: signer certificate missing");
  HarvestResult h;
  h.cert = v.signer;
  for (const X509Ptr& c : v.certificates) {
    if (X509_cmp(c.get(), v.signer.get()) != 0) h.chain.push_back(c);
  }
  h.capabilities = std::move(v.capabilities);
  h.addresses = CertEmailAddresses(v.signer.get());
  h.trusted = v.status == VerifyStatus::kGood;
  return h;
}

}  // namespace sg::smime
