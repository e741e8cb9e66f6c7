// SmimeEngine: sign, encrypt, decrypt, verify and harvest S/MIME messages.
//
// Purpose: the cryptographic core the workers call. Input and output are
// complete RFC 5322 messages (raw bytes). Outer header fields (From, To,
// Subject, ...) stay outside the CMS envelope; Content-* fields move inside.
// Signed bytes are never touched after signing; to tag the Subject of a
// signed inbound message use TagSubject() (smime_mime.h), which changes only
// that one field.
//
// Threading: create one engine per process (ciphers and digests are fetched
// once in Create()); every method is const and may be called from any number
// of threads at once without locks. Keys, certificates and TrustStores are
// shared read-only handles (smime_handles.h, smime_trust.h).
//
// Errors: a malformed, truncated or hostile message gives a specific Error
// (kInvalidArgument: not the expected MIME/CMS shape; kCorruption: CMS that
// fails integrity or decryption; kNotFound: no candidate key fits;
// kUnsupported: algorithm we do not handle; kResourceExhausted: a MimeLimits
// bound). Verify() reports problems with the *signature* as a VerifyStatus,
// not as an Error, because the worker still delivers such mail.
#pragma once

#include <openssl/evp.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workers/smime/revocation.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_handles.h"
#include "workers/smime/smime_metrics.h"
#include "workers/smime/smime_mime.h"
#include "workers/smime/smime_recipient.h"
#include "workers/smime/smime_signer.h"
#include "workers/smime/smime_trust.h"

namespace sg::smime {

namespace internal {
class ChainMemo;
}  // namespace internal

struct SignOptions {
  DigestAlg digest = DigestAlg::kSha256;    // ignored with a PreparedSigner (fixed at Create)
  bool rsa_pss = false;                     // RSASSA-PSS instead of PKCS#1 v1.5 (OpenSSL CMS path)
  std::optional<std::time_t> signing_time;  // default: the current time
  bool transport_encode = true;             // make the content relay-proof first (smime_canon.h)
  bool include_chain = true;     // put SignerIdentity::chain into the CMS (identity overloads)
  bool announce_aes_gcm = true;  // list AES-GCM in our SMIMECapabilities (identity overloads)
  // Header fields (CRLF lines) written at the start of the signed entity's
  // header block: RFC 9788 header protection (workers/policy/
  // policy_header_protection.h). Empty: none.
  std::string inner_headers;
};

// A recipient certificate and what its owner announced (from harvesting).
struct Recipient {
  X509Ptr cert;
  bool supports_aes_gcm = false;  // announced AES-GCM in SMIMECapabilities
  bool rsa_oaep = false;          // use RSAES-OAEP for this RSA recipient
  // |cert| prepared once (smime_recipient.h), kept by the caller with the
  // certificate; null (or prepared from another certificate): prepared per call.
  std::shared_ptr<const PreparedRecipient> prepared = nullptr;
};

enum class ContentCipher {
  kAuto,  // AES-256-GCM AuthEnvelopedData if every recipient supports it, else AES-256-CBC
  kAes256Cbc,
  kAes128Cbc,
  kAes256Gcm,  // AuthEnvelopedData regardless of announcements
};

struct EncryptOptions {
  ContentCipher cipher = ContentCipher::kAuto;
  bool transport_encode = true;  // canonicalise the entity first (off for pre-signed content)
  // Encrypt with OpenSSL's CMS_encrypt even when every recipient could take
  // the prepared encoder (benchmarks and equivalence tests compare the two).
  // Recipients the encoder cannot serve (EC, key agreement) always take it.
  bool use_cms = false;
  // As SignOptions::inner_headers, for the encrypted entity.
  std::string inner_headers;
};

struct EncryptInfo {
  std::string message;
  bool auth_enveloped = false;
  std::string cipher_name;  // "AES-256-CBC", "AES-256-GCM", ...
  bool prepared = false;    // written by the prepared encoder, not CMS_encrypt
};

struct DecryptResult {
  std::string message;          // outer headers + decrypted entity
  size_t key_index = 0;         // which candidate key opened it
  bool auth_enveloped = false;  // AuthEnvelopedData (AES-GCM): integrity-protected
  std::string cipher;           // content cipher, "aes-256-cbc"
  // The decrypted entity's own header block as it came out of the CMS
  // (message above keeps the outer value of a field both carry): RFC 9788
  // protected header fields are read from it.
  std::string entity_header;
  // Opened by the prepared decoder (smime_decrypt_prepared.h), not CMS_decrypt.
  bool prepared = false;
};

struct DecryptOptions {
  bool allow_3des = false;  // DES-EDE3-CBC content (and 3DES key wrap); never RC2/DES/40-bit
  // CBC has no integrity: its output must be a well-formed MIME entity
  // (smime_wellformed.h), else the decryption counts as failed.
  bool check_cbc_content = true;
  // Recover the content key and decrypt the content with the prepared
  // decoder (smime_decrypt_prepared.h) where it serves the structure; every
  // other structure, and every failure, goes to CMS_decrypt (same texts).
  // Off: CMS_decrypt always (equivalence tests and benchmarks compare).
  bool use_prepared = true;
};

// An enveloped (or auth-enveloped) message, parsed and matched to one
// candidate key, before any private-key operation: the caller can decide
// from the digests whether to decrypt at all (workers' DecryptFailureGuard,
// issue 13 point 1). Use once, with the same candidates, while the message
// bytes it was opened from are alive.
struct Envelope {
  size_t key_index = 0;            // the candidate whose certificate is a recipient
  std::string content_key_digest;  // SHA-256 of that RecipientInfo's encrypted content key
  std::string ciphertext_digest;   // SHA-256 of the whole structure (any change alters it)
  std::string cipher;              // content cipher, "aes-256-cbc"
  bool auth_enveloped = false;
  struct State;
  std::shared_ptr<State> state;  // the parsed CMS
};
enum class VerifyStatus {
  kGood,
  kBadSignature,  // content digest or signature value does not match (altered in transit)
  kUntrusted,     // no chain to a trust anchor
  kExpired,       // a certificate was outside its validity at signing time
  kWrongPurpose,  // key usage / extended key usage do not allow email signing
  kWrongAddress,  // signer certificate does not name the From address
  kNoSignerCert,  // the signer's certificate is neither in the message nor known
  kNotSigned,     // no S/MIME signature at the top level
  kMalformed,     // signature structure is broken (MIME or CMS), or ambiguous headers
  kUnsupported,   // unknown digest or signature algorithm
  kWeakDigest,    // MD5 (always), SHA-1 (unless allowed): not accepted
  kDateMismatch,  // signingTime and the Date header differ by more than an hour (Thunderbird)
  kRevoked,       // a certificate of the chain is revoked (OCSP or CRL, revocation.h)
  kRevocationUnknown,  // revocation could not be checked and the domain is hard-fail
};
std::string_view VerifyStatusName(VerifyStatus status);

struct Capabilities {
  std::vector<std::string> algorithms;  // OIDs in dotted or short-name form, in order of preference
  bool aes_gcm = false;                 // any AES-GCM variant announced
  bool aes_cbc = false;
};

// One SignerInfo of a SignedData, verified on its own.
struct SignerResult {
  VerifyStatus status = VerifyStatus::kNotSigned;
  std::string detail;
  X509Ptr cert;                        // the signer certificate, when found
  std::vector<std::string> addresses;  // its rfc822Names / emailAddress, lower-case
  std::string digest;                  // "sha256"
  bool weak = false;                   // SHA-1, accepted only because VerifyOptions::allow_sha1
  bool names_from = false;             // the certificate names the From address
  std::optional<std::time_t> signing_time;
};

struct VerifyResult {
  // The verdict of the principal signer: the first SignerInfo whose
  // certificate names From and verifies (else the first naming From, else
  // the first one). Every SignerInfo is in |signers|; the fields below
  // (signer, chain, capabilities, signing_time, signer_addresses) are the
  // principal's.
  VerifyStatus status = VerifyStatus::kNotSigned;
  std::string detail;                 // human-readable reason for a non-good status
  X509Ptr signer;                     // the signer certificate, when found
  std::vector<X509Ptr> certificates;  // every certificate carried in the CMS
  std::vector<X509Ptr> chain;         // validated chain signer..anchor, when trusted
  Capabilities capabilities;          // the signer's SMIMECapabilities
  std::optional<std::time_t> signing_time;
  std::string from_address;  // addr-spec of From, lower-case
  std::vector<std::string> signer_addresses;
  bool opaque = false;  // smime-type=signed-data
  // Outer headers + the signed entity: always for opaque signatures, for
  // detached ones when the signed entity is itself S/MIME (content_kind).
  std::string content;
  SmimeKind content_kind = SmimeKind::kNone;  // what the signature covers
  // Opaque signatures: the signed entity's own header block as it came out
  // of the CMS (|content| keeps the outer value of a field both carry):
  // RFC 9788 protected header fields are read from it.
  std::string entity_header;
  std::vector<SignerResult> signers;          // every SignerInfo, in order
  size_t principal = 0;                       // index into signers
};

struct VerifyOptions {
  // The principal signer's certificate must name the From address.
  bool check_from_address = true;
  // Thunderbird's rule: with a signingTime, the Date header must be within
  // an hour of it (a missing or unreadable Date is a mismatch).
  bool check_date = true;
  bool allow_sha1 = false;  // SHA-1 signatures valid (reported weak); MD5 never
  // Asked about every signer whose chain validated (revocation.h); nullptr:
  // no revocation checking. Must outlive the call.
  RevocationChecker* revocation = nullptr;
  // Take a signer's chain validation from the engine's memo when the same
  // signer, carried certificates and TrustStore validated before and every
  // certificate is valid at the time asked (smime_chain_memo.h). Off: every
  // chain is validated in full (equivalence tests and benchmarks compare).
  bool use_chain_memo = true;
};

// The chain memo's counters (VerifyOptions::use_chain_memo): lookups that
// found a good chain valid at the time asked, lookups that did not, entries.
struct ChainMemoStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  size_t entries = 0;
};

// What the keyservice stores for a correspondent.
struct HarvestResult {
  X509Ptr cert;
  std::vector<X509Ptr> chain;  // other certificates carried in the message
  Capabilities capabilities;
  std::vector<std::string> addresses;
  bool trusted = false;  // verification status was kGood
};

class SmimeEngine {
 public:
  // |metrics| (optional, must outlive the engine) records every operation.
  static Result<std::unique_ptr<SmimeEngine>> Create(MimeLimits limits = {},
                                                     SmimeMetrics* metrics = nullptr);
  ~SmimeEngine();
  SmimeEngine(const SmimeEngine&) = delete;
  SmimeEngine& operator=(const SmimeEngine&) = delete;

  // multipart/signed with a detached SignedData (signing time, capabilities,
  // signer certificate and chain). kInvalidArgument if the key does not match
  // the certificate or the message cannot be parsed.
  // The SignerIdentity overload prepares the identity per call (and uses
  // OpenSSL's CMS code for RSA-PSS); workers keep a PreparedSigner per user
  // instead, which is the fast path (smime_signer.h).
  Result<std::string> Sign(std::string_view message, const SignerIdentity& signer,
                           const SignOptions& options = {}) const;
  Result<std::string> Sign(std::string_view message, const PreparedSigner& signer,
                           const SignOptions& options = {}) const;

  // application/pkcs7-mime enveloped-data (or authEnveloped-data) for every
  // recipient. RSA certificates get key transport, EC certificates ECDH.
  // When every recipient is RSA, the DER is written by the prepared encoder
  // (smime_envelope.h); otherwise the whole message goes through CMS_encrypt.
  Result<EncryptInfo> Encrypt(std::string_view message, std::span<const Recipient> recipients,
                              const EncryptOptions& options = {}) const;

  // Sign, then encrypt the signed result (the signed bytes are not re-encoded).
  Result<EncryptInfo> SignAndEncrypt(std::string_view message, const SignerIdentity& signer,
                                     std::span<const Recipient> recipients,
                                     const SignOptions& sign_options = {},
                                     const EncryptOptions& encrypt_options = {}) const;
  Result<EncryptInfo> SignAndEncrypt(std::string_view message, const PreparedSigner& signer,
                                     std::span<const Recipient> recipients,
                                     const SignOptions& sign_options = {},
                                     const EncryptOptions& encrypt_options = {}) const;

  // Decrypts with the first candidate whose certificate is a recipient
  // (OpenEnvelope, then Decrypt). kNotFound when no candidate is a
  // recipient; kUnsupported when the algorithms are not allowed
  // (smime_algorithms.h); kCorruption when the matching key cannot open it
  // (wrong key, tampered or truncated data, CBC output that is not MIME).
  Result<DecryptResult> Decrypt(std::string_view message, std::span<const KeyPair> candidates,
                                const DecryptOptions& options = {}) const;
  // The two steps apart. OpenEnvelope parses, checks the algorithm policy
  // and picks the candidate (no private-key operation): kInvalidArgument
  // (not enveloped data), kCorruption (unparsable), kNotFound, kUnsupported.
  Result<Envelope> OpenEnvelope(std::string_view message, std::span<const KeyPair> candidates,
                                const DecryptOptions& options = {}) const;
  Result<DecryptResult> Decrypt(const Envelope& envelope, std::span<const KeyPair> candidates,
                                const DecryptOptions& options = {}) const;

  // Verifies a detached or opaque signature, every SignerInfo of it, at
  // |now| (the message's arrival time): each certificate must be valid at
  // |now| and, when a signingTime is given, at that time too (a signingTime
  // narrows validity, it never extends it). Errors are returned only for
  // resource limits; everything about the message is a status.
  Result<VerifyResult> Verify(std::string_view message, const TrustStore& trust, std::time_t now,
                              const VerifyOptions& options = {}) const;

  // Signer certificate, chain and capabilities for the keyservice. Fails
  // with kInvalidArgument when the message has no intact signature (a
  // certificate from an altered message must never be stored).
  Result<HarvestResult> Harvest(std::string_view message, const TrustStore& trust,
                                std::time_t now) const;

  const MimeLimits& limits() const { return limits_; }
  ChainMemoStats chain_memo_stats() const;

 private:
  SmimeEngine(MimeLimits limits, SmimeMetrics* metrics);
  Result<std::string> SignPrepared(std::string_view message, const PreparedSigner& signer,
                                   const SignOptions& options) const;
  Result<EncryptInfo> EncryptImpl(std::string_view message, std::span<const Recipient> recipients,
                                  const EncryptOptions& options) const;
  // Encrypts the entity made of |entity| pieces in turn; |outer_headers|
  // stay outside (CRLF lines).
  Result<EncryptInfo> EncryptEntity(std::string_view outer_headers,
                                    std::span<const std::string_view> entity,
                                    std::span<const Recipient> recipients,
                                    const EncryptOptions& options) const;
  Result<Envelope> OpenEnvelopeImpl(std::string_view message, std::span<const KeyPair> candidates,
                                    const DecryptOptions& options) const;
  Result<DecryptResult> DecryptImpl(const Envelope& envelope, std::span<const KeyPair> candidates,
                                    const DecryptOptions& options) const;
  Result<VerifyResult> VerifyImpl(std::string_view message, const TrustStore& trust,
                                  std::time_t now, const VerifyOptions& options) const;
  template <typename T>
  T Record(SmimeMetrics::Op op, T result, std::chrono::steady_clock::time_point start) const;
  Result<std::string> SignWithCms(std::string_view message, const SignerIdentity& signer,
                                  const SignOptions& options) const;
  const EVP_MD* Digest(DigestAlg alg) const;

  MimeLimits limits_;
  SmimeMetrics* metrics_ = nullptr;
  EVP_MD* sha256_ = nullptr;
  EVP_MD* sha384_ = nullptr;
  EVP_MD* sha512_ = nullptr;
  EVP_CIPHER* aes256_cbc_ = nullptr;
  EVP_CIPHER* aes128_cbc_ = nullptr;
  EVP_CIPHER* aes256_gcm_ = nullptr;
  std::unique_ptr<internal::ChainMemo> chain_memo_;  // thread-safe; see VerifyOptions
};

}  // namespace sg::smime
