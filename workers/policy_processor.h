// PolicyProcessor: the worker policy, every rule of the product applied per
// message and recipient (issue 6). The MessageProcessor the WorkerPool runs.
//
// Outbound (DIRECTION_OUTBOUND): gathers the facts (participation and
// signing identity of the sender from the keyservice, subject tags,
// Sensitivity, calendar / TNEF parts, per recipient the encryption
// certificate and admin rule), decides per recipient with DecideOutbound()
// (workers/policy_decision.h, where the precedence of the rules is written
// down), and emits one output record per delivery form: one shared form for
// the unchanged recipients, one shared signed form (signed once), one
// encrypted form per encrypting recipient (each encrypted to that recipient's
// certificate alone, so nobody receives a form meant for another), and one
// DSN to the sender for the recipients that must be encrypted but cannot be.
//
// Inbound (DIRECTION_INBOUND): encrypted mail is decrypted per recipient with
// that recipient's keys (every key the user ever had, then the hosted domain
// key) and marked [secure]; signed mail is verified against the keyservice's
// trust anchors, marked [signed OK] / [signed INVALID], otherwise forwarded
// byte-identical, and its signer certificate is offered to the keyservice
// (harvest); mail a hosted participant cannot decrypt is returned to its
// sender (DSN 5.7.5) and nothing is delivered to that recipient.
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
// caches guarded by a mutex. KeyService, engine and registry are borrowed
// and must outlive the processor.
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "common/mail/dsn.h"
#include "keyservice/key_service.h"
#include "workers/message_processor.h"
#include "workers/policy_config.h"
#include "workers/policy_metrics.h"
#include "workers/smime/smime_config.h"
#include "workers/smime/smime_engine.h"

namespace sg::workers {

class PolicyProcessor : public MessageProcessor {
 public:
  using Clock = std::function<int64_t()>;  // unix milliseconds
  static int64_t SystemClockMs();

  PolicyProcessor(PolicyConfig config, smime::SmimeConfig smime_config,
                  keyservice::KeyService& keys, const smime::SmimeEngine& engine,
                  metrics::Registry& registry, Clock clock = &SystemClockMs);

  Result<std::vector<smimegate::v1::MessageRecord>> Process(
      smimegate::v1::MessageRecord record) override;

 private:
  struct Output;  // forms under construction
  Result<std::vector<smimegate::v1::MessageRecord>> ProcessOutbound(
      const smimegate::v1::MessageRecord& record);
  Result<std::vector<smimegate::v1::MessageRecord>> ProcessInbound(
      const smimegate::v1::MessageRecord& record);
  // Returns the failed recipients to the sender in one DSN (5.7.x), unless
  // the sender is null or asked for none; `what` is for the log line.
  void Bounce(const smimegate::v1::MessageRecord& record,
              const std::vector<mail::FailedRecipient>& failed, const char* what,
              std::vector<smimegate::v1::MessageRecord>& outputs);
  // Verifies a signed message, harvests its signer, returns the subject mark.
  Result<std::string> VerifyAndHarvest(std::string_view message, const std::string& message_id);

  Result<smime::PreparedSigner> Signer(const keyservice::SigningIdentity& identity);
  Result<smime::TrustStore> Trust();
  // Parsed decryption key (parsing an RSA key costs about as much as using it).
  Result<smime::KeyPair> DecryptionPair(const keyservice::DecryptionKey& key);
  // Parsed recipient certificate (a fresh X509 per message costs more than encrypting to it).
  Result<smime::X509Ptr> RecipientCert(const std::string& der);

  PolicyConfig config_;
  smime::SmimeConfig smime_config_;
  keyservice::KeyService& keys_;
  const smime::SmimeEngine& engine_;
  PolicyMetrics metrics_;
  Clock clock_;

  std::mutex mu_;
  std::map<std::string, smime::PreparedSigner> signers_;  // by key id
  std::map<std::string, smime::X509Ptr> recipient_certs_;  // by DER
  std::map<std::string, smime::KeyPair> decryption_keys_;  // by key id; memory only, never logged
  std::optional<std::pair<uint64_t, smime::TrustStore>> trust_;  // by anchors version
};

}  // namespace sg::workers
