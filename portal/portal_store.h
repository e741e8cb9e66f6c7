// Where the portal keeps its messages, accounts, one-time links, sessions,
// keys and audit trail.
//
// One interface, two implementations that share one contract suite
// (tests/portal/portal_store_test.cc), like the queue:
//   - RocksDbPortalStore (portal_store_rocksdb.h): the default, one
//     machine; every write is synced before it returns.
//   - MemoryPortalStore (portal_store_memory.h): tests and benchmarks; the
//     shape a shared database implementation follows.
// The store only ever sees sealed content (PortalVault seals before it
// stores); what it keeps in the clear is the metadata in StoredMessage and
// the records of proto/portal.proto.
//
// Semantics
//   - A message belongs to one recipient. Every read and change names the
//     recipient and the id: another recipient's id is kNotFound, exactly
//     like an id that does not exist (isolation by construction).
//   - PutMessages is idempotent on source_key: storing a message whose
//     source_key exists returns the stored record and changes nothing, so
//     a queue record delivered twice is kept once. A batch is one atomic,
//     synced write (messages, contents, source keys, expiry index and first
//     links together): the intake's one sync for several records.
//   - A deleted message leaves its source key behind as a tombstone until
//     the message's own expiry (SweepTombstones), so a record delivered
//     again after a crash does not store and notify a message its reader
//     or an admin deleted (PutOutcome::gone; review R9).
//   - Flags change by single-purpose calls under the store's lock
//     (SwapLinkHash, MarkNotified, MarkRead): never by writing back a copy
//     read earlier, so two concurrent changes cannot undo each other (R10).
//   - ConsumeToken is atomic: of two concurrent calls for one token, one
//     wins; a used or expired token is never accepted again.
//
// Errors: kNotFound for a missing record; kIoError when storage fails
// (transient: the queue consumer retries); kCorruption for a record that
// does not parse.
//
// Threading: thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "proto/portal.pb.h"

namespace sg::portal {

namespace pb = smimegate::portal::v1;

struct PutOutcome {
  pb::StoredMessage message;  // as stored (the earlier one when it existed)
  bool created = false;
  // The source key is a tombstone: the message was stored once and has been
  // deleted since; nothing was written (`message` is the one offered).
  bool gone = false;
};

// One message for PutMessages: its record, sealed content and the first
// link to it (written in the same batch; `link_hash` empty: no link).
struct NewMessage {
  pb::StoredMessage message;
  std::string sealed_content;
  std::string link_hash;
  pb::LinkToken link;
};

struct StoreStats {
  uint64_t messages = 0;
  uint64_t bytes = 0;  // sealed content bytes
  uint64_t accounts = 0;
};

class PortalStore {
 public:
  virtual ~PortalStore() = default;

  // ---- messages
  // Stores every message of `batch` that is new (by source key) in one
  // synced write; one outcome per entry, in order. A source key that occurs
  // twice in the batch is stored once (the second entry is a duplicate).
  virtual Result<std::vector<PutOutcome>> PutMessages(const std::vector<NewMessage>& batch) = 0;
  // PutMessages with one message and no link.
  Result<PutOutcome> PutMessage(const pb::StoredMessage& message,
                                const std::string& sealed_content);
  // The message stored under `source_key`; nullopt when there is none (also
  // when only its tombstone is left).
  virtual Result<std::optional<pb::StoredMessage>> FindBySource(const std::string& source_key) = 0;
  virtual Result<pb::StoredMessage> GetMessage(const std::string& recipient,
                                               const std::string& id) = 0;
  virtual Result<std::string> GetContent(const std::string& recipient, const std::string& id) = 0;
  // Newest first; ids below `before_id` (empty: from the newest).
  virtual Result<std::vector<pb::StoredMessage>> ListMessages(const std::string& recipient,
                                                              const std::string& before_id,
                                                              size_t limit) = 0;
  virtual Result<size_t> CountMessages(const std::string& recipient) = 0;
  // Sets the message's link hash to `link_hash` and marks it notified, in
  // one step under the store's lock; returns the hash it replaces (the link
  // sent before, for the caller to revoke). kNotFound when it is gone.
  virtual Result<std::string> SwapLinkHash(const std::string& recipient, const std::string& id,
                                           const std::string& link_hash) = 0;
  // Marks these messages ("recipient\0id", keys::Owned) notified in one
  // synced write; the ones that are gone are skipped.
  virtual Status MarkNotified(const std::vector<std::string>& owned) = 0;
  // Marks the message read; kNotFound when it is gone.
  virtual Status MarkRead(const std::string& recipient, const std::string& id) = 0;
  // Deletes the message and its content; its source key stays as a
  // tombstone until the message's expiry.
  virtual Status DeleteMessage(const std::string& recipient, const std::string& id) = 0;
  // Removes the tombstones (source keys of deleted messages) whose message
  // expiry is <= now_ms; how many went.
  virtual Result<size_t> SweepTombstones(int64_t now_ms) = 0;
  // Messages whose expires_at_ms <= now_ms, oldest expiry first.
  virtual Result<std::vector<pb::StoredMessage>> Expired(int64_t now_ms, size_t limit) = 0;
  // Every message (admin), in key order: recipient, then time; `after`
  // continues a listing ("recipient\0id" of the last one returned).
  virtual Result<std::vector<pb::StoredMessage>> ScanMessages(const std::string& after,
                                                              size_t limit) = 0;

  // ---- accounts
  virtual Result<std::optional<pb::Account>> GetAccount(const std::string& address) = 0;
  virtual Status PutAccount(const pb::Account& account) = 0;
  // Stores a new account; false (nothing written) when one exists already
  // (two registration links of one address: the first wins).
  virtual Result<bool> CreateAccount(const pb::Account& account) = 0;
  // Sets last_totp_step to `step` when it is below it (a TOTP code is
  // accepted once, also by two concurrent requests); false when the step
  // was used already, kNotFound when the account is gone. Changes nothing
  // else of the record.
  virtual Result<bool> AdvanceTotpStep(const std::string& address, int64_t step) = 0;
  // One atomic read-modify-write of an existing account: runs `change` on
  // the current record under the store lock and stores it when `change`
  // returns OK (its error is returned, nothing written). kNotFound when the
  // account is gone: it never creates one (a purged account stays purged).
  // `change` runs under the lock: quick, no store calls, no hashing.
  using AccountChange = std::function<Status(pb::Account&)>;
  virtual Status UpdateAccount(const std::string& address, const AccountChange& change) = 0;
  virtual Status DeleteAccount(const std::string& address) = 0;

  // ---- one-time links, under the SHA-256 of the token
  virtual Status PutToken(const std::string& hash, const pb::LinkToken& token) = 0;
  virtual Result<std::optional<pb::LinkToken>> GetToken(const std::string& hash) = 0;
  // Marks it used at now_ms when it is unused and not expired; false when
  // it was used or expired already (or never existed).
  virtual Result<bool> ConsumeToken(const std::string& hash, int64_t now_ms) = 0;

  // ---- sessions, under the SHA-256 of the session id
  virtual Status PutSession(const std::string& hash, const pb::Session& session) = 0;
  // Replaces a session only when it still exists; false when it is gone (a
  // logout or a timeout deleted it: a request still running must not bring
  // it back).
  virtual Result<bool> UpdateSession(const std::string& hash, const pb::Session& session) = 0;
  virtual Result<std::optional<pb::Session>> GetSession(const std::string& hash) = 0;
  virtual Status DeleteSession(const std::string& hash) = 0;

  // ---- housekeeping: tokens and sessions older than `before_ms` (by
  // expiry for tokens, last_seen for sessions); returns how many went.
  virtual Result<size_t> SweepTokens(int64_t before_ms) = 0;
  virtual Result<size_t> SweepSessions(int64_t before_ms) = 0;

  // ---- the portal keys, sealed by the KEK
  virtual Result<std::vector<pb::SealedPortalKey>> GetKeys() = 0;
  virtual Status PutKey(const pb::SealedPortalKey& key) = 0;

  // ---- audit trail (append only; not synced: a power failure may lose the
  // newest records, a process crash loses none)
  virtual Status AppendAudit(const pb::AuditEvent& event) = 0;
  // Retention: deletes the records older than `before_ms`; how many went.
  virtual Result<size_t> DeleteAuditBefore(int64_t before_ms) = 0;
  virtual Result<std::vector<pb::AuditEvent>> ListAudit(size_t limit) = 0;  // newest first

  virtual Result<StoreStats> Stats() = 0;
};

// "recipient\0id": the cursor of ScanMessages.
std::string ScanCursor(const pb::StoredMessage& message);

}  // namespace sg::portal
