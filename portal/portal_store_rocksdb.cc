#include "portal/portal_store_rocksdb.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "portal/portal_store_keys.h"

namespace sg::portal {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return OkStatus();
  return MakeError(s.IsCorruption() ? ErrorCode::kCorruption : ErrorCode::kIoError,
                   "portal store: " + what + ": " + s.ToString());
}

std::string EncodeStats(const StoreStats& s) {
  return keys::BigEndian(s.messages) + keys::BigEndian(s.bytes) + keys::BigEndian(s.accounts);
}

bool StartsWith(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}

}  // namespace

RocksDbPortalStore::RocksDbPortalStore(rocksdb::DB* db) : db_(db) {}
RocksDbPortalStore::~RocksDbPortalStore() = default;

Result<std::unique_ptr<RocksDbPortalStore>> RocksDbPortalStore::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError, "portal.store_path: cannot create " + path + ": " +
                                              ec.message());
  }
  ::chmod(path.c_str(), 0700);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.keep_log_file_num = 2;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  if (!s.ok()) {
    const bool locked = s.IsIOError() && s.ToString().find("lock") != std::string::npos;
    return MakeError(locked ? ErrorCode::kUnavailable : ErrorCode::kIoError,
                     "portal.store_path: cannot open " + path +
                         (locked ? " (another smimegate process has it open)" : "") + ": " +
                         s.ToString());
  }
  std::unique_ptr<RocksDbPortalStore> store(new RocksDbPortalStore(db));
  SG_ASSIGN_OR_RETURN(store->stats_, store->LoadStats());
  return store;
}

Result<StoreStats> RocksDbPortalStore::LoadStats() {
  SG_ASSIGN_OR_RETURN(auto v, Get(std::string(keys::kStats)));
  StoreStats s;
  if (v && v->size() == 24) {
    s.messages = keys::FromBigEndian(*v);
    s.bytes = keys::FromBigEndian(std::string_view(*v).substr(8));
    s.accounts = keys::FromBigEndian(std::string_view(*v).substr(16));
  }
  // The audit sequence continues after the newest record.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev("u\xff");
  if (it->Valid() && StartsWith(it->key(), "u") && it->key().size() == 17) {
    audit_seq_ = keys::FromBigEndian(std::string_view(it->key().data() + 9, 8)) + 1;
  }
  return s;
}

Result<std::optional<std::string>> RocksDbPortalStore::Get(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  SG_RETURN_IF_ERROR(FromRocks(s, "read"));
  return std::optional<std::string>(std::move(value));
}

Status RocksDbPortalStore::Write(void* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, static_cast<rocksdb::WriteBatch*>(batch)), "write");
}

Status RocksDbPortalStore::PutOne(const std::string& key, const std::string& value, bool sync) {
  rocksdb::WriteBatch b;
  b.Put(key, value);
  return Write(&b, sync);
}

template <typename Proto>
Result<std::optional<Proto>> RocksDbPortalStore::GetProto(const std::string& key) {
  SG_ASSIGN_OR_RETURN(auto v, Get(key));
  if (!v) return std::optional<Proto>();
  Proto p;
  if (!p.ParseFromString(*v)) {
    return MakeError(ErrorCode::kCorruption, "portal store: record does not parse");
  }
  return std::optional<Proto>(std::move(p));
}

template <typename Proto>
Result<std::vector<Proto>> RocksDbPortalStore::ScanPrefix(const std::string& prefix,
                                                          size_t limit) {
  std::vector<Proto> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix) && out.size() < limit;
       it->Next()) {
    Proto p;
    if (!p.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return MakeError(ErrorCode::kCorruption, "portal store: record does not parse");
    }
    out.push_back(std::move(p));
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  return out;
}

Result<std::optional<PutOutcome>> RocksDbPortalStore::Existing(
    const pb::StoredMessage& offered) {
  SG_ASSIGN_OR_RETURN(auto owned, Get(keys::Source(offered.source_key())));
  if (!owned) return std::optional<PutOutcome>();
  SG_ASSIGN_OR_RETURN(auto stored, GetProto<pb::StoredMessage>("m" + *owned));
  if (stored) return std::optional<PutOutcome>(PutOutcome{std::move(*stored), false, false});
  return std::optional<PutOutcome>(PutOutcome{offered, false, true});  // a tombstone
}

Result<std::vector<PutOutcome>> RocksDbPortalStore::PutMessages(
    const std::vector<NewMessage>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PutOutcome> out;
  out.reserve(batch.size());
  std::map<std::string, size_t> in_batch;  // source key -> its first outcome
  rocksdb::WriteBatch b;
  StoreStats next = stats_;
  for (const auto& n : batch) {
    const pb::StoredMessage& m = n.message;
    if (auto it = in_batch.find(m.source_key()); it != in_batch.end()) {
      out.push_back(PutOutcome{out[it->second].message, false, false});
      continue;
    }
    SG_ASSIGN_OR_RETURN(auto existing, Existing(m));
    if (existing) {
      out.push_back(std::move(*existing));
      continue;
    }
    const std::string& r = m.recipient();
    b.Put(keys::Message(r, m.id()), m.SerializeAsString());
    b.Put(keys::Content(r, m.id()), n.sealed_content);
    b.Put(keys::Source(m.source_key()), keys::Owned(r, m.id()));
    b.Put(keys::Expiry(m.expires_at_ms(), r, m.id()), m.source_key());
    if (!n.link_hash.empty()) b.Put(keys::Token(n.link_hash), n.link.SerializeAsString());
    next.messages += 1;
    next.bytes += n.sealed_content.size();
    in_batch.emplace(m.source_key(), out.size());
    out.push_back(PutOutcome{m, true, false});
  }
  if (b.Count() == 0) return out;
  b.Put(std::string(keys::kStats), EncodeStats(next));
  SG_RETURN_IF_ERROR(Write(&b, true));
  stats_ = next;
  return out;
}

Result<std::optional<pb::StoredMessage>> RocksDbPortalStore::FindBySource(
    const std::string& source_key) {
  SG_ASSIGN_OR_RETURN(auto owned, Get(keys::Source(source_key)));
  if (!owned) return std::optional<pb::StoredMessage>();
  return GetProto<pb::StoredMessage>("m" + *owned);
}

Result<pb::StoredMessage> RocksDbPortalStore::GetMessage(const std::string& recipient,
                                                         const std::string& id) {
  SG_ASSIGN_OR_RETURN(auto m, GetProto<pb::StoredMessage>(keys::Message(recipient, id)));
  if (!m) return MakeError(ErrorCode::kNotFound, "no such message");
  return std::move(*m);
}

Result<std::string> RocksDbPortalStore::GetContent(const std::string& recipient,
                                                   const std::string& id) {
  SG_ASSIGN_OR_RETURN(auto v, Get(keys::Content(recipient, id)));
  if (!v) return MakeError(ErrorCode::kNotFound, "no such message");
  return std::move(*v);
}

Result<std::vector<pb::StoredMessage>> RocksDbPortalStore::ListMessages(
    const std::string& recipient, const std::string& before_id, size_t limit) {
  const std::string prefix = "m" + keys::Owned(recipient, "");
  std::vector<pb::StoredMessage> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  if (before_id.empty()) {
    std::string end = prefix;
    end.back() = '\x01';  // just past "recipient\0..."
    it->SeekForPrev(end);
  } else {
    it->SeekForPrev(prefix + before_id);
    if (it->Valid() && it->key() == rocksdb::Slice(prefix + before_id)) it->Prev();
  }
  for (; it->Valid() && StartsWith(it->key(), prefix) && out.size() < limit; it->Prev()) {
    pb::StoredMessage m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return MakeError(ErrorCode::kCorruption, "portal store: record does not parse");
    }
    out.push_back(std::move(m));
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "list"));
  return out;
}

Result<size_t> RocksDbPortalStore::CountMessages(const std::string& recipient) {
  const std::string prefix = "m" + keys::Owned(recipient, "");
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) ++n;
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "count"));
  return n;
}

Status RocksDbPortalStore::ChangeMessageLocked(
    const std::string& recipient, const std::string& id,
    const std::function<void(pb::StoredMessage&)>& change) {
  SG_ASSIGN_OR_RETURN(pb::StoredMessage current, GetMessage(recipient, id));
  change(current);
  return PutOne(keys::Message(recipient, id), current.SerializeAsString(), true);
}

Result<std::string> RocksDbPortalStore::SwapLinkHash(const std::string& recipient,
                                                     const std::string& id,
                                                     const std::string& link_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string old;
  SG_RETURN_IF_ERROR(ChangeMessageLocked(recipient, id, [&](pb::StoredMessage& m) {
    old = m.link_hash();
    m.set_link_hash(link_hash);
    m.set_notified(true);
  }));
  return old;
}

Status RocksDbPortalStore::MarkNotified(const std::vector<std::string>& owned) {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::WriteBatch b;
  for (const auto& o : owned) {
    SG_ASSIGN_OR_RETURN(auto m, GetProto<pb::StoredMessage>("m" + o));
    if (!m || m->notified()) continue;  // gone (deleted meanwhile), or done
    m->set_notified(true);
    b.Put("m" + o, m->SerializeAsString());
  }
  if (b.Count() == 0) return OkStatus();
  // Written to the WAL, not synced: a killed process loses nothing; a power
  // failure may lose the flag, and the message is then notified once more
  // (a duplicate notification, never a lost one), like the queue's unsynced
  // offset commits. The batch's one sync is its PutMessages.
  return Write(&b, false);
}

Status RocksDbPortalStore::MarkRead(const std::string& recipient, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return ChangeMessageLocked(recipient, id, [](pb::StoredMessage& m) { m.set_read(true); });
}

Status RocksDbPortalStore::DeleteMessage(const std::string& recipient, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(pb::StoredMessage m, GetMessage(recipient, id));
  SG_ASSIGN_OR_RETURN(auto content, Get(keys::Content(recipient, id)));
  SG_ASSIGN_OR_RETURN(auto expiry, Get(keys::Expiry(m.expires_at_ms(), recipient, id)));
  rocksdb::WriteBatch b;
  b.Delete(keys::Message(recipient, id));
  b.Delete(keys::Content(recipient, id));
  // The source key stays as a tombstone (R9) while the expiry entry names
  // it, so SweepTombstones finds it; a record stored before the entry had
  // that value leaves no tombstone.
  if (!expiry || expiry->empty()) {
    b.Delete(keys::Source(m.source_key()));
    b.Delete(keys::Expiry(m.expires_at_ms(), recipient, id));
  }
  StoreStats next = stats_;
  next.messages -= next.messages > 0 ? 1 : 0;
  const uint64_t bytes = content ? content->size() : 0;
  next.bytes -= std::min(next.bytes, bytes);
  b.Put(std::string(keys::kStats), EncodeStats(next));
  SG_RETURN_IF_ERROR(Write(&b, true));
  stats_ = next;
  return OkStatus();
}

Result<size_t> RocksDbPortalStore::SweepTombstones(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::WriteBatch b;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("x"); it->Valid() && StartsWith(it->key(), "x"); it->Next()) {
    if (it->key().size() < 9) continue;
    const int64_t expires =
        static_cast<int64_t>(keys::FromBigEndian(std::string_view(it->key().data() + 1, 8)));
    if (expires > now_ms) break;
    const std::string owned(it->key().data() + 9, it->key().size() - 9);
    SG_ASSIGN_OR_RETURN(auto m, Get("m" + owned));
    if (m) continue;  // still stored: the expiry pass deletes it first
    b.Delete(it->key());
    if (!it->value().empty()) b.Delete(keys::Source(it->value().ToString()));
    ++n;
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "tombstone sweep"));
  if (n > 0) SG_RETURN_IF_ERROR(Write(&b, true));
  return n;
}

Result<std::vector<pb::StoredMessage>> RocksDbPortalStore::Expired(int64_t now_ms, size_t limit) {
  std::vector<pb::StoredMessage> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("x"); it->Valid() && StartsWith(it->key(), "x") && out.size() < limit;
       it->Next()) {
    if (it->key().size() < 9) continue;
    const int64_t expires =
        static_cast<int64_t>(keys::FromBigEndian(std::string_view(it->key().data() + 1, 8)));
    if (expires > now_ms) break;
    std::string owned(it->key().data() + 9, it->key().size() - 9);
    SG_ASSIGN_OR_RETURN(auto m, GetProto<pb::StoredMessage>("m" + owned));
    if (m) out.push_back(std::move(*m));
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "expiry scan"));
  return out;
}

Result<std::vector<pb::StoredMessage>> RocksDbPortalStore::ScanMessages(const std::string& after,
                                                                        size_t limit) {
  std::vector<pb::StoredMessage> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->Seek("m" + after);
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice("m" + after)) it->Next();
  for (; it->Valid() && StartsWith(it->key(), "m") && out.size() < limit; it->Next()) {
    pb::StoredMessage m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return MakeError(ErrorCode::kCorruption, "portal store: record does not parse");
    }
    out.push_back(std::move(m));
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  return out;
}

Result<std::optional<pb::Account>> RocksDbPortalStore::GetAccount(const std::string& address) {
  return GetProto<pb::Account>(keys::Account(address));
}

Status RocksDbPortalStore::PutAccount(const pb::Account& account) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto existing, Get(keys::Account(account.address())));
  rocksdb::WriteBatch b;
  b.Put(keys::Account(account.address()), account.SerializeAsString());
  StoreStats next = stats_;
  if (!existing) {
    next.accounts += 1;
    b.Put(std::string(keys::kStats), EncodeStats(next));
  }
  SG_RETURN_IF_ERROR(Write(&b, true));
  stats_ = next;
  return OkStatus();
}

Result<bool> RocksDbPortalStore::CreateAccount(const pb::Account& account) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto existing, Get(keys::Account(account.address())));
  if (existing) return false;
  rocksdb::WriteBatch b;
  b.Put(keys::Account(account.address()), account.SerializeAsString());
  StoreStats next = stats_;
  next.accounts += 1;
  b.Put(std::string(keys::kStats), EncodeStats(next));
  SG_RETURN_IF_ERROR(Write(&b, true));
  stats_ = next;
  return true;
}

Result<bool> RocksDbPortalStore::AdvanceTotpStep(const std::string& address, int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto account, GetProto<pb::Account>(keys::Account(address)));
  if (!account) return MakeError(ErrorCode::kNotFound, "no such account");
  if (step <= account->last_totp_step()) return false;
  account->set_last_totp_step(step);
  SG_RETURN_IF_ERROR(PutOne(keys::Account(address), account->SerializeAsString(), true));
  return true;
}

Status RocksDbPortalStore::UpdateAccount(const std::string& address,
                                         const AccountChange& change) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto account, GetProto<pb::Account>(keys::Account(address)));
  if (!account) return MakeError(ErrorCode::kNotFound, "no such account");
  SG_RETURN_IF_ERROR(change(*account));
  return PutOne(keys::Account(address), account->SerializeAsString(), true);
}

Status RocksDbPortalStore::DeleteAccount(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto existing, Get(keys::Account(address)));
  if (!existing) return MakeError(ErrorCode::kNotFound, "no such account");
  rocksdb::WriteBatch b;
  b.Delete(keys::Account(address));
  StoreStats next = stats_;
  next.accounts -= next.accounts > 0 ? 1 : 0;
  b.Put(std::string(keys::kStats), EncodeStats(next));
  SG_RETURN_IF_ERROR(Write(&b, true));
  stats_ = next;
  return OkStatus();
}

Status RocksDbPortalStore::PutToken(const std::string& hash, const pb::LinkToken& token) {
  return PutOne(keys::Token(hash), token.SerializeAsString(), true);
}

Result<std::optional<pb::LinkToken>> RocksDbPortalStore::GetToken(const std::string& hash) {
  return GetProto<pb::LinkToken>(keys::Token(hash));
}

Result<bool> RocksDbPortalStore::ConsumeToken(const std::string& hash, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto token, GetToken(hash));
  if (!token || token->used_ms() != 0 || token->expires_ms() <= now_ms) return false;
  token->set_used_ms(now_ms);
  SG_RETURN_IF_ERROR(PutOne(keys::Token(hash), token->SerializeAsString(), true));
  return true;
}

Status RocksDbPortalStore::PutSession(const std::string& hash, const pb::Session& session) {
  return PutOne(keys::Session(hash), session.SerializeAsString(), false);
}

Result<bool> RocksDbPortalStore::UpdateSession(const std::string& hash,
                                               const pb::Session& session) {
  // Under the mutex with DeleteSession, so a logout cannot fall between the
  // check and the write.
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto existing, Get(keys::Session(hash)));
  if (!existing) return false;
  SG_RETURN_IF_ERROR(PutOne(keys::Session(hash), session.SerializeAsString(), false));
  return true;
}

Result<std::optional<pb::Session>> RocksDbPortalStore::GetSession(const std::string& hash) {
  return GetProto<pb::Session>(keys::Session(hash));
}

Status RocksDbPortalStore::DeleteSession(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::WriteBatch b;
  b.Delete(keys::Session(hash));
  return Write(&b, true);  // a logout is synced: the old cookie must stay dead
}

Result<size_t> RocksDbPortalStore::SweepTokens(int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::WriteBatch b;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("t"); it->Valid() && StartsWith(it->key(), "t"); it->Next()) {
    pb::LinkToken t;
    if (!t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        t.expires_ms() < before_ms) {
      b.Delete(it->key());
      ++n;
    }
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "token sweep"));
  if (n > 0) SG_RETURN_IF_ERROR(Write(&b, true));
  return n;
}

Result<size_t> RocksDbPortalStore::SweepSessions(int64_t before_ms) {
  rocksdb::WriteBatch b;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("z"); it->Valid() && StartsWith(it->key(), "z"); it->Next()) {
    pb::Session s;
    if (!s.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        s.last_seen_ms() < before_ms) {
      b.Delete(it->key());
      ++n;
    }
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "session sweep"));
  if (n > 0) SG_RETURN_IF_ERROR(Write(&b, true));
  return n;
}

Result<std::vector<pb::SealedPortalKey>> RocksDbPortalStore::GetKeys() {
  return ScanPrefix<pb::SealedPortalKey>("k", SIZE_MAX);
}

Status RocksDbPortalStore::PutKey(const pb::SealedPortalKey& key) {
  return PutOne(keys::Key(key.id()), key.SerializeAsString(), true);
}

Status RocksDbPortalStore::AppendAudit(const pb::AuditEvent& event) {
  const uint64_t seq = audit_seq_.fetch_add(1);
  return PutOne("u" + keys::BigEndian(static_cast<uint64_t>(event.time_ms())) +
                    keys::BigEndian(seq),
                event.SerializeAsString(), false);
}

Result<size_t> RocksDbPortalStore::DeleteAuditBefore(int64_t before_ms) {
  // The keys sort by time: one range delete up to "u<before_ms BE64>".
  const std::string end = "u" + keys::BigEndian(static_cast<uint64_t>(std::max<int64_t>(0, before_ms)));
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("u"); it->Valid() && it->key().compare(end) < 0; it->Next()) ++n;
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "audit sweep"));
  if (n == 0) return n;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  SG_RETURN_IF_ERROR(
      FromRocks(db_->DeleteRange(wo, db_->DefaultColumnFamily(), "u", end), "audit sweep"));
  return n;
}

Result<std::vector<pb::AuditEvent>> RocksDbPortalStore::ListAudit(size_t limit) {
  std::vector<pb::AuditEvent> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekForPrev("u\xff"); it->Valid() && StartsWith(it->key(), "u") && out.size() < limit;
       it->Prev()) {
    pb::AuditEvent e;
    if (e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      out.push_back(std::move(e));
    }
  }
  SG_RETURN_IF_ERROR(FromRocks(it->status(), "audit"));
  return out;
}

Result<StoreStats> RocksDbPortalStore::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace sg::portal
