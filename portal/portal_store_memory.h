// PortalStore in memory (portal_store.h): for tests and benchmarks, and the
// model a shared-database implementation follows. Nothing survives the
// process. Passes the same contract suite as the RocksDB store.
//
// Threading: thread-safe (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "portal/portal_store.h"

namespace sg::portal {

class MemoryPortalStore : public PortalStore {
 public:
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
  struct Stored {
    pb::StoredMessage message;
    std::string content;
  };
  std::mutex mu_;
  std::map<std::string, Stored> messages_;            // keys::Owned(recipient, id)
  struct Source {
    std::string owned;
    int64_t expires_ms = 0;  // the message's: when its tombstone may go
  };
  std::map<std::string, Source> sources_;             // source_key -> message
  std::map<std::string, pb::Account> accounts_;
  std::map<std::string, pb::LinkToken> tokens_;
  std::map<std::string, pb::Session> sessions_;
  std::map<std::string, pb::SealedPortalKey> keys_;
  std::vector<pb::AuditEvent> audit_;
  uint64_t bytes_ = 0;
};

}  // namespace sg::portal
