// PortalVault: the only way message content enters or leaves the store, so
// the store never sees plaintext (docs/portal.md "Keys").
//
//   KEK (portal_kek.h, a secret outside the store)
//    └ seals the portal key (random, 32 bytes; kept sealed in the store)
//       └ wraps each message's data key (random, 32 bytes)
//          └ seals the message (the original .eml) and its inbox summary
// Every layer is AES-256-GCM with additional authenticated data naming the
// record it belongs to ("portal-key\0<id>", "data-key\0<recipient>\0<id>",
// "content\0...", "summary\0..."), so a sealed value moved to another
// record does not open. Rotating the KEK re-seals one record (the portal
// key); nothing else changes.
//
// Errors: kPermissionDenied when something does not open (wrong KEK or a
// tampered store; never more detail), store errors as they come.
//
// Threading: thread-safe after Open (keys are immutable).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "portal/portal_crypto.h"
#include "portal/portal_store.h"

namespace sg::portal {

// What the intake hands over: one message for one recipient.
struct IncomingMessage {
  std::string source_key;        // queue message id + "/" + recipient
  std::string queue_message_id;
  std::string recipient;         // normalised
  std::string sender;
  std::string sender_domain;
  int64_t expires_at_ms = 0;
  std::string content;           // the RFC 5322 message
  pb::Summary summary;
};

class PortalVault {
 public:
  // Opens the portal key(s) from the store with `kek`, making the first
  // portal key when the store has none. kPermissionDenied when the stored
  // key does not open (the KEK is not the one it was sealed with).
  static Result<std::unique_ptr<PortalVault>> Open(const SecretKey& kek, PortalStore& store,
                                                   const Clock& clock);

  // Seals and stores; idempotent on source_key (PortalStore::PutMessage).
  Result<PutOutcome> Store(const IncomingMessage& message);
  // The sealed record of `message` with a new id, not stored yet (the
  // intake stores several with PortalStore::PutMessages in one write).
  NewMessage Prepare(const IncomingMessage& message) const;
  // The original message of `recipient`'s message `id` (kNotFound for any
  // other recipient's).
  Result<std::string> Content(const pb::StoredMessage& message);
  Result<pb::Summary> Summary(const pb::StoredMessage& message);

  // Seals small secrets of an account (the TOTP secret) with the portal key.
  std::string SealSecret(const std::string& secret, const std::string& aad, std::string* key_id);
  Result<std::string> OpenSecret(const std::string& sealed, const std::string& aad,
                                 const std::string& key_id);

  PortalStore& store() { return store_; }

 private:
  PortalVault(PortalStore& store, const Clock& clock) : store_(store), clock_(clock) {}
  Result<SecretKey> DataKey(const pb::StoredMessage& message);
  const SecretKey* PortalKey(const std::string& id) const;

  PortalStore& store_;
  const Clock& clock_;
  std::map<std::string, SecretKey> portal_keys_;
  std::string current_id_;
};

// A new message id: 16 hex digits of the time, 16 random hex digits.
std::string NewMessageId(int64_t now_ms);

}  // namespace sg::portal
