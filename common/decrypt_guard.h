// DecryptFailureGuard: the memory that keeps decryption from being an
// oracle (issue 13 point 1, DESIGN invariant 9).
//
// A padding-oracle or EFAIL attacker takes one encrypted message (one
// encrypted content key) and sends variants of its ciphertext, learning from
// each reply. Workers ask this guard, which the keyservice implements so
// that every worker shares one memory (inbound records are partitioned by
// message id, so two variants usually reach two different workers):
//   - ObserveContentKey, before any private-key operation: the content key
//     of the RecipientInfo addressed to us, with a digest of the whole
//     structure. A content key seen before with other ciphertext is an
//     attack: the worker does not decrypt, sends no DSN and quarantines the
//     message. The same key with the same ciphertext (a redelivery, a resend)
//     is harmless.
//   - PermitFailureDsn, before a failure DSN: at most one per (sender,
//     content key), and a rate limit per sender domain.
//
// Two implementations: DecryptGuardStore (keyservice/decrypt_guard_store.h,
// RocksDB, in the keyservice process; `smimegate run` uses it in-process)
// and DecryptGuardClient (keyservice/decrypt_guard_grpc_client.h, gRPC
// service smimegate.keyservice.v1.DecryptGuard, role `worker`).
//
// Errors: kUnavailable / kTimeout when the keyservice cannot be reached (the
// worker retries the record later; it never decrypts without asking);
// kInvalidArgument for a malformed request.
//
// The interface is the keyservice's (namespace sg::keyservice) but lives
// below the stages, so that workers include it without depending on the
// keyservice stage (DESIGN: stages meet through the queue and the shared
// libraries; keyservice/key_service.h is the one keyservice header they may
// include).
//
// Threading: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::keyservice {

enum class ContentKeyVerdict {
  kFirst,     // never seen: decrypt
  kSame,      // seen with this ciphertext before (redelivery or resend): decrypt
  kReplayed,  // seen with other ciphertext: an attack, do not decrypt
};
std::string_view ContentKeyVerdictName(ContentKeyVerdict verdict);

struct ContentKeySighting {
  std::string content_key_digest;  // SHA-256 of the encrypted content key (32 bytes)
  std::string ciphertext_digest;   // SHA-256 of the whole structure (32 bytes)
  std::string message_id;          // for the admin's log
  int64_t now_ms = 0;
};

enum class DsnPermission {
  kAllowed,      // send the DSN
  kAlreadySent,  // one went to this sender for this key (for another message): none again
  kRateLimited,  // the sender's domain had its share of failure DSNs in this window
};
std::string_view DsnPermissionName(DsnPermission permission);

struct FailureDsnRequest {
  std::string sender;       // envelope sender, lower-case (never empty: no DSN to <>)
  std::string key_digest;   // content key digest, or the ciphertext digest when none of ours matched
  std::string message_id;   // a DSN for the same message again (redelivery) is allowed again
  int64_t now_ms = 0;
};

class DecryptFailureGuard {
 public:
  virtual ~DecryptFailureGuard() = default;
  virtual Result<ContentKeyVerdict> ObserveContentKey(const ContentKeySighting& sighting) = 0;
  virtual Result<DsnPermission> PermitFailureDsn(const FailureDsnRequest& request) = 0;
};

}  // namespace sg::keyservice
