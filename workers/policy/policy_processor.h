// PolicyProcessor: the worker policy, every rule of the product applied per
// message and recipient (issue 6). The MessageProcessor the WorkerPool runs.
//
// Each direction is three steps (issue 16):
//   1. gather the facts: keyservice lookups, subject tags, content, and for
//      inbound mail the S/MIME layers opened with each recipient's keys;
//   2. decide per recipient with the pure DecideOutbound() / DecideInbound()
//      (workers/policy/policy_decision.h, where the precedence of the rules
//      is written down);
//   3. emit the delivery forms the decisions name.
//
// Outbound (DIRECTION_OUTBOUND) emits one shared form for the unchanged
// recipients, one shared signed form (signed once), one encrypted form per
// encrypting recipient (each encrypted to that recipient's certificate
// alone, so nobody receives a form meant for another), and one DSN to the
// sender for the recipients that must be encrypted but cannot be.
//
// Inbound (DIRECTION_INBOUND): every S/MIME layer is unwrapped
// (policy_unwrap.h): signatures verified against the keyservice's trust
// anchors at the arrival time, encrypted layers opened per recipient with
// that recipient's keys (every key the user ever had, then the hosted domain
// key) after the DecryptFailureGuard has seen the content key. Decrypted
// mail is delivered decrypted and marked [secure]; signed mail is marked
// [signed OK] / [signed INVALID] (the weakest layer decides) and otherwise
// forwarded byte-identical; every delivered message carries the gateway's
// X-Smimegate-Verification fields and none of the sender's. The outermost
// signer certificate is offered to the keyservice (harvest). Mail a hosted
// participant cannot decrypt is returned to its sender (DSN 5.7.5, one fixed
// wording, at most one per sender and content key, rate-limited per sender
// domain) and nothing is delivered to that recipient; a content key replayed
// with other ciphertext is quarantined (dead-lettered with the reason), no
// DSN.
//
// Every decision is logged as one line per message and recipient
// ("policy message_id=.. direction=.. rcpt=.. action=.. rule=.. form=..") and
// recorded as a ProcessingNote on the output record; metrics per action in
// PolicyMetrics.
//
// Errors: keyservice errors are returned as they are (kUnavailable /
// kTimeout: the pool retries the record later); a failure of the engine on
// outbound mail is permanent (dead-lettered): never delivered in clear.
//
// Threading: Process() is called concurrently; the processor holds only
// caches guarded by a mutex. KeyService, guard, engine, registry and clock
// (wall time for DSN dates and the received-at fallback; common/clock.h) are
// borrowed and must outlive the processor.
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/decrypt_guard.h"
#include "common/mail/dsn.h"
#include "keyservice/key_service.h"
#include "workers/message_processor.h"
#include "workers/policy/policy_config.h"
#include "workers/policy/policy_decision.h"
#include "workers/policy/policy_dkim.h"
#include "workers/policy/policy_header_protection.h"
#include "workers/policy/policy_metrics.h"
#include "workers/policy/policy_tenant.h"
#include "workers/policy/policy_unwrap.h"
#include "workers/smime/revocation_checker.h"
#include "workers/smime/smime_config.h"
#include "workers/smime/smime_engine.h"

namespace sg::workers {

class CertificateDiscovery;  // workers/discovery/certificate_discovery.h

class PolicyProcessor : public MessageProcessor {
 public:
  PolicyProcessor(PolicyConfig config, smime::SmimeConfig smime_config,
                  keyservice::KeyService& keys, keyservice::DecryptFailureGuard& guard,
                  const smime::SmimeEngine& engine, metrics::Registry& registry,
                  const Clock& clock = SystemClock::Instance());

  Result<std::vector<smimegate::v1::MessageRecord>> Process(
      smimegate::v1::MessageRecord record) override;

  // Per-tenant policy overrides (policy_tenant.h; not owned, outlives the
  // processor). `web_encryption_available`: portal.enabled, so a tenant may
  // switch web encryption on. Before the first Process.
  void SetTenantPolicies(const TenantPolicies* policies, bool web_encryption_available) {
    tenant_policies_ = policies;
    web_encryption_available_ = web_encryption_available;
  }
  // Certificate discovery for outbound recipients without a certificate
  // (workers.discovery; not owned, outlives the processor); null: off.
  // Before the first Process.
  void SetDiscovery(CertificateDiscovery* discovery) { discovery_ = discovery; }

 private:
  // Outbound (policy_outbound.cc).
  struct OutboundPlan;
  Result<std::vector<smimegate::v1::MessageRecord>> ProcessOutbound(
      const smimegate::v1::MessageRecord& record);
  Result<OutboundPlan> GatherOutbound(const smimegate::v1::MessageRecord& record);
  // The sender's signing identity could not be had: set the record aside
  // (plan.set_aside_until_ms), or go on without signing
  // (facts.no_signing_identity), or fail (policy_ca_wait.h).
  Status WithoutSigningIdentity(const smimegate::v1::MessageRecord& record, const Error& error,
                                OutboundPlan& plan);
  Result<std::vector<smimegate::v1::MessageRecord>> EmitOutbound(
      const smimegate::v1::MessageRecord& record, OutboundPlan& plan);
  // Looks up the recipients without a certificate whom one would change
  // (policy_outbound.cc); sets the record aside while a lookup runs.
  void DiscoverCertificates(const smimegate::v1::MessageRecord& record, OutboundPlan& plan);

  // A recipient's reply from the web-encryption portal (policy_portal_reply.cc);
  // CheckPortalReply: kPermissionDenied unless it comes from a non-hosted
  // address and goes to hosted addresses only.
  Status CheckPortalReply(const smimegate::v1::MessageRecord& record) const;
  Result<std::vector<smimegate::v1::MessageRecord>> ProcessPortalReply(
      const smimegate::v1::MessageRecord& record);
  // A hosted recipient's own certificate (never a domain certificate); nullopt: none.
  Result<std::optional<keyservice::EncryptionCertificate>> OwnCertificate(
      const std::string& address);

  // Inbound (policy_inbound.cc).
  struct InboundRecipient;
  Result<std::vector<smimegate::v1::MessageRecord>> ProcessInbound(
      const smimegate::v1::MessageRecord& record);
  UnwrapOptions InboundUnwrapOptions() const;
  // Opens the layers |common| stopped at with |rcpt|'s keys, and decides.
  Result<InboundRecipient> GatherInbound(const smimegate::v1::MessageRecord& record,
                                         const smimegate::v1::Recipient& rcpt,
                                         const Unwrapper& unwrapper, const Unwrapped& common);
  // |addr|'s decryption keys from the keyservice; kInvalidArgument when
  // the keyservice cannot process the address, kUnavailable when down.
  struct OwnedKeys {
    std::vector<smime::KeyPair> pairs;
    bool keeps_own_key = false;
  };
  Result<OwnedKeys> KeysOf(const std::string& addr);
  // Whether undecryptable mail for |r| gets a DSN (sender, NOTIFY, guard).
  Result<DsnVerdict> FailureDsnVerdict(const smimegate::v1::MessageRecord& record,
                                       const InboundRecipient& r);
  // Offers the outermost intact signer to the keyservice (once per message).
  void HarvestSigner(const Unwrapped& unwrapped, const std::string& message_id);
  // The record goes to the dead-letter topic with this reason: nothing delivered, no DSN.
  Error Quarantine(const smimegate::v1::MessageRecord& record, const InboundRecipient& r);
  // The delivered bytes: marks in the Subject, the verification header.
  // The delivered bytes for |r|; |hp| says what RFC 9788 header protection
  // restoring did (policy_header_protection.h).
  Result<std::string> InboundForm(const InboundRecipient& r, HpRestore& hp);
  void NoteHeaderProtection(const smimegate::v1::MessageRecord& record, const InboundRecipient& r,
                            HpRestore hp, smimegate::v1::MessageRecord& out);
  Result<std::vector<smimegate::v1::MessageRecord>> EmitInbound(
      const smimegate::v1::MessageRecord& record, const std::vector<InboundRecipient>& recipients);

  // Returns the failed recipients to the sender in one DSN (5.7.x), unless
  // the sender is null or asked for none; `what` is for the log line.
  void Bounce(const smimegate::v1::MessageRecord& record,
              const std::vector<mail::FailedRecipient>& failed, const char* what,
              std::vector<smimegate::v1::MessageRecord>& outputs);

  // Parsed keys and certificates (policy_processor.cc).
  Result<smime::PreparedSigner> Signer(const keyservice::SigningIdentity& identity);
  Result<smime::TrustStore> Trust();
  // Parsed decryption key (parsing an RSA key costs about as much as using it).
  Result<smime::KeyPair> DecryptionPair(const keyservice::DecryptionKey& key);
  // Every usable decryption key of |address|; unusable ones are logged and skipped.
  std::vector<smime::KeyPair> DecryptionPairs(const std::vector<keyservice::DecryptionKey>& keys);
  // Parsed and prepared recipient certificate (a fresh X509 per message costs
  // more than encrypting to it; smime_recipient.h prepares the key transport).
  Result<std::shared_ptr<const smime::PreparedRecipient>> RecipientCert(const std::string& der);

  PolicyConfig config_;
  const TenantPolicies* tenant_policies_ = nullptr;
  CertificateDiscovery* discovery_ = nullptr;
  bool web_encryption_available_ = false;
  smime::SmimeConfig smime_config_;
  keyservice::KeyService& keys_;
  keyservice::DecryptFailureGuard& guard_;
  const smime::SmimeEngine& engine_;
  PolicyMetrics metrics_;
  const Clock& clock_;
  std::unique_ptr<OutboundDkim> dkim_;  // null: workers.policy.dkim.sign off
  // Revocation checking of inbound signers (null when disabled).
  std::unique_ptr<smime::RevocationMetrics> revocation_metrics_;
  std::unique_ptr<smime::HttpFetcher> fetcher_;
  std::unique_ptr<smime::RevocationChecker> revocation_;

  std::mutex mu_;
  std::map<std::string, smime::PreparedSigner> signers_;  // by key id
  // by DER
  std::map<std::string, std::shared_ptr<const smime::PreparedRecipient>> recipient_certs_;
  std::map<std::string, smime::KeyPair> decryption_keys_;  // by key id; memory only, never logged
  std::optional<std::pair<uint64_t, smime::TrustStore>> trust_;  // by anchors version
};

}  // namespace sg::workers
