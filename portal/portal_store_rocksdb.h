// PortalStore on RocksDB (portal_store.h): one database under
// portal.store_path, every message, account, link and key write synced
// (WAL fsync) before it returns, except MarkNotified (written to the WAL, not
// synced: a power failure may lose the flag and the message is notified once
// more, never lost); session updates are written to the WAL but
// not synced (losing one in a power failure only logs the reader out), and
// so are audit records (written to the WAL, so a killed process loses none;
// a power failure may lose the newest few, which decide nothing).
//
// Key layout (one column family, a prefix byte per kind):
//   m<recipient>\0<id>            StoredMessage
//   c<recipient>\0<id>            sealed content
//   s<source_key>                 <recipient>\0<id>   (idempotency; stays
//                                 as a tombstone when the message is deleted)
//   x<expires BE64><recipient>\0<id>   <source_key>    (expiry order; stays
//                                 with the tombstone until SweepTombstones)
//   a<address>  t<hash>  z<hash>  k<key id>  u<time BE64><seq BE64>
//   !stats                        message count, bytes, accounts
// Ids start with the time, so one recipient's messages sort by arrival.
//
// Threading: thread-safe; changes that read before they write hold one
// mutex (the store is not the portal's hot path: a page view reads).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "portal/portal_store.h"

namespace rocksdb {
class DB;
}

namespace sg::portal {

class RocksDbPortalStore : public PortalStore {
 public:
  // Opens or creates the database at `path` (directories made, mode 0700).
  // kUnavailable naming the path when another process has it open.
  static Result<std::unique_ptr<RocksDbPortalStore>> Open(const std::string& path);
  ~RocksDbPortalStore() override;

  Result<std::vector<PutOutcome>> PutMessages(const std::vector<NewMessage>& batch) override;
  Result<std::optional<pb::StoredMessage>> FindBySource(const std::string& source_key) override;
  Result<pb::StoredMessage> GetMessage(const std::string& recipient,
                                       const std::string& id) override;
  Result<std::string> GetContent(const std::string& recipient, const std::string& id) override;
  Result<std::vector<pb::StoredMessage>> ListMessages(const std::string& recipient,
                                                      const std::string& before_id,
                                                      size_t limit) override;
  Result<size_t> CountMessages(const std::string& recipient) override;
  Result<std::string> SwapLinkHash(const std::string& recipient, const std::string& id,
                                   const std::string& link_hash) override;
  Status MarkNotified(const std::vector<std::string>& owned) override;
  Status MarkRead(const std::string& recipient, const std::string& id) override;
  Status DeleteMessage(const std::string& recipient, const std::string& id) override;
  Result<size_t> SweepTombstones(int64_t now_ms) override;
  Result<std::vector<pb::StoredMessage>> Expired(int64_t now_ms, size_t limit) override;
  Result<std::vector<pb::StoredMessage>> ScanMessages(const std::string& after,
                                                      size_t limit) override;
  Result<std::optional<pb::Account>> GetAccount(const std::string& address) override;
  Status PutAccount(const pb::Account& account) override;
  Result<bool> CreateAccount(const pb::Account& account) override;
  Result<bool> AdvanceTotpStep(const std::string& address, int64_t step) override;
  Status UpdateAccount(const std::string& address, const AccountChange& change) override;
  Status DeleteAccount(const std::string& address) override;
  Status PutToken(const std::string& hash, const pb::LinkToken& token) override;
  Result<std::optional<pb::LinkToken>> GetToken(const std::string& hash) override;
  Result<bool> ConsumeToken(const std::string& hash, int64_t now_ms) override;
  Status PutSession(const std::string& hash, const pb::Session& session) override;
  Result<bool> UpdateSession(const std::string& hash, const pb::Session& session) override;
  Result<std::optional<pb::Session>> GetSession(const std::string& hash) override;
  Status DeleteSession(const std::string& hash) override;
  Result<size_t> SweepTokens(int64_t before_ms) override;
  Result<size_t> SweepSessions(int64_t before_ms) override;
  Result<std::vector<pb::SealedPortalKey>> GetKeys() override;
  Status PutKey(const pb::SealedPortalKey& key) override;
  Status AppendAudit(const pb::AuditEvent& event) override;
  Result<size_t> DeleteAuditBefore(int64_t before_ms) override;
  Result<std::vector<pb::AuditEvent>> ListAudit(size_t limit) override;
  Result<StoreStats> Stats() override;

 private:
  explicit RocksDbPortalStore(rocksdb::DB* db);
  Result<std::optional<std::string>> Get(const std::string& key);
  Status Write(void* batch, bool sync);  // rocksdb::WriteBatch*
  Status PutOne(const std::string& key, const std::string& value, bool sync);
  // Whether the source key is taken; the stored message when it exists.
  Result<std::optional<PutOutcome>> Existing(const pb::StoredMessage& offered);
  // Reads, changes and writes one message under mu_ (held by the caller).
  Status ChangeMessageLocked(const std::string& recipient, const std::string& id,
                             const std::function<void(pb::StoredMessage&)>& change);
  template <typename Proto>
  Result<std::optional<Proto>> GetProto(const std::string& key);
  template <typename Proto>
  Result<std::vector<Proto>> ScanPrefix(const std::string& prefix, size_t limit);
  Result<StoreStats> LoadStats();

  std::unique_ptr<rocksdb::DB> db_;
  std::mutex mu_;  // read-modify-write changes and stats_
  StoreStats stats_;
  std::atomic<uint64_t> audit_seq_{0};
};

}  // namespace sg::portal
