#include "portal/portal_store_memory.h"

#include <algorithm>

#include "portal/portal_store_keys.h"

namespace sg::portal {
namespace {

Error NotFound() { return MakeError(ErrorCode::kNotFound, "no such message"); }

}  // namespace

Result<std::vector<PutOutcome>> MemoryPortalStore::PutMessages(
    const std::vector<NewMessage>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PutOutcome> out;
  out.reserve(batch.size());
  for (const auto& n : batch) {
    const pb::StoredMessage& m = n.message;
    if (auto s = sources_.find(m.source_key()); s != sources_.end()) {
      auto stored = messages_.find(s->second.owned);
      out.push_back(stored != messages_.end() ? PutOutcome{stored->second.message, false, false}
                                              : PutOutcome{m, false, true});
      continue;
    }
    const std::string owned = keys::Owned(m.recipient(), m.id());
    messages_[owned] = Stored{m, n.sealed_content};
    sources_[m.source_key()] = Source{owned, m.expires_at_ms()};
    if (!n.link_hash.empty()) tokens_[n.link_hash] = n.link;
    bytes_ += n.sealed_content.size();
    out.push_back(PutOutcome{m, true, false});
  }
  return out;
}

Result<std::optional<pb::StoredMessage>> MemoryPortalStore::FindBySource(
    const std::string& source_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = sources_.find(source_key);
  if (s == sources_.end()) return std::optional<pb::StoredMessage>();
  auto stored = messages_.find(s->second.owned);
  if (stored == messages_.end()) return std::optional<pb::StoredMessage>();  // a tombstone
  return std::optional<pb::StoredMessage>(stored->second.message);
}

Result<pb::StoredMessage> MemoryPortalStore::GetMessage(const std::string& recipient,
                                                        const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(recipient, id));
  if (it == messages_.end()) return NotFound();
  return it->second.message;
}

Result<std::string> MemoryPortalStore::GetContent(const std::string& recipient,
                                                  const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(recipient, id));
  if (it == messages_.end()) return NotFound();
  return it->second.content;
}

Result<std::vector<pb::StoredMessage>> MemoryPortalStore::ListMessages(
    const std::string& recipient, const std::string& before_id, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string prefix = keys::Owned(recipient, "");
  std::vector<pb::StoredMessage> out;
  auto end = before_id.empty() ? messages_.lower_bound(recipient + '\x01')
                               : messages_.lower_bound(keys::Owned(recipient, before_id));
  while (end != messages_.begin() && out.size() < limit) {
    --end;
    if (end->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(end->second.message);
  }
  return out;
}

Result<size_t> MemoryPortalStore::CountMessages(const std::string& recipient) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string prefix = keys::Owned(recipient, "");
  size_t n = 0;
  for (auto it = messages_.lower_bound(prefix);
       it != messages_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    ++n;
  }
  return n;
}

Result<std::string> MemoryPortalStore::SwapLinkHash(const std::string& recipient,
                                                    const std::string& id,
                                                    const std::string& link_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(recipient, id));
  if (it == messages_.end()) return NotFound();
  std::string old = it->second.message.link_hash();
  it->second.message.set_link_hash(link_hash);
  it->second.message.set_notified(true);
  return old;
}

Status MemoryPortalStore::MarkNotified(const std::vector<std::string>& owned) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& o : owned) {
    if (auto it = messages_.find(o); it != messages_.end()) it->second.message.set_notified(true);
  }
  return OkStatus();
}

Status MemoryPortalStore::MarkRead(const std::string& recipient, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(recipient, id));
  if (it == messages_.end()) return NotFound();
  it->second.message.set_read(true);
  return OkStatus();
}

Status MemoryPortalStore::DeleteMessage(const std::string& recipient, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(recipient, id));
  if (it == messages_.end()) return NotFound();
  bytes_ -= std::min<uint64_t>(bytes_, it->second.content.size());
  messages_.erase(it);  // the source key stays: a tombstone (SweepTombstones)
  return OkStatus();
}

Result<size_t> MemoryPortalStore::SweepTombstones(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (it->second.expires_ms <= now_ms && !messages_.count(it->second.owned)) {
      it = sources_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

Result<std::vector<pb::StoredMessage>> MemoryPortalStore::Expired(int64_t now_ms, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pb::StoredMessage> out;
  for (const auto& [k, s] : messages_) {
    if (s.message.expires_at_ms() <= now_ms) out.push_back(s.message);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.expires_at_ms() < b.expires_at_ms();
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<std::vector<pb::StoredMessage>> MemoryPortalStore::ScanMessages(const std::string& after,
                                                                       size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pb::StoredMessage> out;
  for (auto it = messages_.upper_bound(after); it != messages_.end() && out.size() < limit; ++it) {
    out.push_back(it->second.message);
  }
  return out;
}

Result<std::optional<pb::Account>> MemoryPortalStore::GetAccount(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(address);
  if (it == accounts_.end()) return std::optional<pb::Account>();
  return std::optional<pb::Account>(it->second);
}

Status MemoryPortalStore::PutAccount(const pb::Account& account) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_[account.address()] = account;
  return OkStatus();
}

Result<bool> MemoryPortalStore::CreateAccount(const pb::Account& account) {
  std::lock_guard<std::mutex> lock(mu_);
  return accounts_.emplace(account.address(), account).second;
}

Result<bool> MemoryPortalStore::AdvanceTotpStep(const std::string& address, int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(address);
  if (it == accounts_.end()) return MakeError(ErrorCode::kNotFound, "no such account");
  if (step <= it->second.last_totp_step()) return false;
  it->second.set_last_totp_step(step);
  return true;
}

Status MemoryPortalStore::UpdateAccount(const std::string& address,
                                        const AccountChange& change) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(address);
  if (it == accounts_.end()) return MakeError(ErrorCode::kNotFound, "no such account");
  pb::Account next = it->second;
  SG_RETURN_IF_ERROR(change(next));
  it->second = std::move(next);
  return OkStatus();
}

Status MemoryPortalStore::DeleteAccount(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (accounts_.erase(address) == 0) return MakeError(ErrorCode::kNotFound, "no such account");
  return OkStatus();
}

Status MemoryPortalStore::PutToken(const std::string& hash, const pb::LinkToken& token) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_[hash] = token;
  return OkStatus();
}

Result<std::optional<pb::LinkToken>> MemoryPortalStore::GetToken(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tokens_.find(hash);
  if (it == tokens_.end()) return std::optional<pb::LinkToken>();
  return std::optional<pb::LinkToken>(it->second);
}

Result<bool> MemoryPortalStore::ConsumeToken(const std::string& hash, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tokens_.find(hash);
  if (it == tokens_.end() || it->second.used_ms() != 0 || it->second.expires_ms() <= now_ms) {
    return false;
  }
  it->second.set_used_ms(now_ms);
  return true;
}

Status MemoryPortalStore::PutSession(const std::string& hash, const pb::Session& session) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[hash] = session;
  return OkStatus();
}

Result<bool> MemoryPortalStore::UpdateSession(const std::string& hash,
                                              const pb::Session& session) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(hash);
  if (it == sessions_.end()) return false;
  it->second = session;
  return true;
}

Result<std::optional<pb::Session>> MemoryPortalStore::GetSession(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(hash);
  if (it == sessions_.end()) return std::optional<pb::Session>();
  return std::optional<pb::Session>(it->second);
}

Status MemoryPortalStore::DeleteSession(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(hash);
  return OkStatus();
}

Result<size_t> MemoryPortalStore::SweepTokens(int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(
      std::erase_if(tokens_, [&](const auto& kv) { return kv.second.expires_ms() < before_ms; }));
}

Result<size_t> MemoryPortalStore::SweepSessions(int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::erase_if(
      sessions_, [&](const auto& kv) { return kv.second.last_seen_ms() < before_ms; }));
}

Result<std::vector<pb::SealedPortalKey>> MemoryPortalStore::GetKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pb::SealedPortalKey> out;
  for (const auto& [id, k] : keys_) out.push_back(k);
  return out;
}

Status MemoryPortalStore::PutKey(const pb::SealedPortalKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_[key.id()] = key;
  return OkStatus();
}

Status MemoryPortalStore::AppendAudit(const pb::AuditEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  audit_.push_back(event);
  return OkStatus();
}

Result<size_t> MemoryPortalStore::DeleteAuditBefore(int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(
      std::erase_if(audit_, [&](const auto& e) { return e.time_ms() < before_ms; }));
}

Result<std::vector<pb::AuditEvent>> MemoryPortalStore::ListAudit(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pb::AuditEvent> out(audit_.rbegin(), audit_.rend());
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<StoreStats> MemoryPortalStore::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return StoreStats{messages_.size(), bytes_, accounts_.size()};
}

}  // namespace sg::portal
