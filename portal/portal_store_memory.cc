#include "portal/portal_store_memory.h"

#include <algorithm>

#include "portal/portal_store_keys.h"

namespace sg::portal {
namespace {

Error NotFound() { return MakeError(ErrorCode::kNotFound, "no such message"); }

}  // namespace

Result<PutOutcome> MemoryPortalStore::PutMessage(const pb::StoredMessage& message,
                                                 const std::string& sealed_content) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto s = sources_.find(message.source_key()); s != sources_.end()) {
    return PutOutcome{messages_.at(s->second).message, false};
  }
  const std::string owned = keys::Owned(message.recipient(), message.id());
  messages_[owned] = Stored{message, sealed_content};
  sources_[message.source_key()] = owned;
  bytes_ += sealed_content.size();
  return PutOutcome{message, true};
}

Result<std::optional<pb::StoredMessage>> MemoryPortalStore::FindBySource(
    const std::string& source_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = sources_.find(source_key);
  if (s == sources_.end()) return std::optional<pb::StoredMessage>();
  return std::optional<pb::StoredMessage>(messages_.at(s->second).message);
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

Status MemoryPortalStore::UpdateMessage(const pb::StoredMessage& message) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(message.recipient(), message.id()));
  if (it == messages_.end()) return NotFound();
  it->second.message.set_read(message.read());
  it->second.message.set_notified(message.notified());
  it->second.message.set_link_hash(message.link_hash());
  return OkStatus();
}

Status MemoryPortalStore::DeleteMessage(const std::string& recipient, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = messages_.find(keys::Owned(recipient, id));
  if (it == messages_.end()) return NotFound();
  bytes_ -= std::min<uint64_t>(bytes_, it->second.content.size());
  sources_.erase(it->second.message.source_key());
  messages_.erase(it);
  return OkStatus();
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
