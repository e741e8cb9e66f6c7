#include "keyservice/key_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>

namespace sg::keyservice {
namespace {

const char* const kCfNames[] = {"default", "users", "domains", "keys",
                                "certs",   "pending", "trust",  "audit", "aliases"};

std::string OwnerKey(const std::string& owner, const std::string& id) {
  std::string k = owner;
  k.push_back('\0');
  k += id;
  return k;
}

// Big-endian: keys sort by time, then by sequence.
std::string AuditKey(int64_t time_us, uint32_t seq) {
  std::string k(12, '\0');
  auto t = static_cast<uint64_t>(time_us);
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(t >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) k[8 + i] = static_cast<char>(seq >> (24 - 8 * i));
  return k;
}

std::string OwnerPrefix(const std::string& owner) {
  if (owner.empty()) return {};
  std::string k = owner;
  k.push_back('\0');
  return k;
}

}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     "keyservice.store_path: cannot create " + path + ": " + ec.message());
  }
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::unique_ptr<KeyStore> store(new KeyStore());
  store->path_ = path;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &store->cfs_, &db);
  if (!s.ok()) {
    return MakeError(ErrorCode::kUnavailable,
                     "keyservice.store_path: cannot open " + path + ": " + s.ToString());
  }
  store->db_.reset(db);
  return store;
}

KeyStore::~KeyStore() {
  if (db_) {
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_->Close().PermitUncheckedError();
  }
}

Result<std::optional<std::string>> KeyStore::Get(Cf cf, const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[cf], key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "keyservice store: " + s.ToString());
  return std::optional<std::string>(std::move(value));
}

Status KeyStore::Put(Cf cf, const std::string& key, const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Put(wo, cfs_[cf], key, value);
  if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "keyservice store: " + s.ToString());
  return OkStatus();
}

Status KeyStore::Delete(Cf cf, const std::string& key) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Delete(wo, cfs_[cf], key);
  if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "keyservice store: " + s.ToString());
  return OkStatus();
}

Result<std::vector<std::string>> KeyStore::Scan(Cf cf, const std::string& prefix) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[cf]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.push_back(it->value().ToString());
  }
  if (!it->status().ok()) {
    return MakeError(ErrorCode::kUnavailable, "keyservice store: " + it->status().ToString());
  }
  return out;
}

template <typename M>
Result<std::optional<M>> KeyStore::GetMsg(Cf cf, const std::string& key) {
  SG_ASSIGN_OR_RETURN(auto raw, Get(cf, key));
  if (!raw) return std::optional<M>();
  M msg;
  if (!msg.ParseFromString(*raw)) {
    return MakeError(ErrorCode::kCorruption,
                     std::string("keyservice store: broken record in ") + kCfNames[cf]);
  }
  return std::optional<M>(std::move(msg));
}

template <typename M>
Result<std::vector<M>> KeyStore::ScanMsg(Cf cf, const std::string& prefix) {
  SG_ASSIGN_OR_RETURN(auto raws, Scan(cf, prefix));
  std::vector<M> out;
  out.reserve(raws.size());
  for (const auto& raw : raws) {
    M msg;
    if (!msg.ParseFromString(raw)) {
      return MakeError(ErrorCode::kCorruption,
                       std::string("keyservice store: broken record in ") + kCfNames[cf]);
    }
    out.push_back(std::move(msg));
  }
  return out;
}

Result<std::optional<std::string>> KeyStore::GetMeta(const std::string& key) {
  return Get(kMeta, key);
}
Status KeyStore::PutMeta(const std::string& key, const std::string& value) {
  return Put(kMeta, key, value);
}
Status KeyStore::DeleteMeta(const std::string& key) { return Delete(kMeta, key); }
Result<std::vector<std::string>> KeyStore::ScanMeta(const std::string& prefix) {
  return Scan(kMeta, prefix);
}

Result<std::vector<std::pair<std::string, std::string>>> KeyStore::ScanMetaKeys(
    const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kMeta]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) {
    return MakeError(ErrorCode::kUnavailable, "keyservice store: " + it->status().ToString());
  }
  return out;
}

Result<std::optional<store::StoredUser>> KeyStore::GetUser(const std::string& address) {
  return GetMsg<store::StoredUser>(kUsers, address);
}
Status KeyStore::PutUsers(const std::vector<store::StoredUser>& users) {
  rocksdb::WriteBatch batch;
  for (const auto& u : users) {
    rocksdb::Status s = batch.Put(cfs_[kUsers], u.address(), u.SerializeAsString());
    if (!s.ok()) return MakeError(ErrorCode::kInternal, "keyservice store: " + s.ToString());
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "keyservice store: " + s.ToString());
  return OkStatus();
}
Status KeyStore::DeleteUser(const std::string& address) {
  SG_ASSIGN_OR_RETURN(auto user, GetUser(address));
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Delete(cfs_[kUsers], address);
  if (user) {
    for (const auto& alias : user->aliases()) {
      if (s.ok()) s = batch.Delete(cfs_[kAliases], alias);
    }
  }
  if (!s.ok()) return MakeError(ErrorCode::kInternal, "keyservice store: " + s.ToString());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Write(wo, &batch);
  if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "keyservice store: " + s.ToString());
  return OkStatus();
}

Result<std::optional<std::string>> KeyStore::GetAliasOwner(const std::string& alias) {
  return Get(kAliases, alias);
}

Status KeyStore::DeleteAlias(const std::string& alias) { return Delete(kAliases, alias); }

Status KeyStore::PutUserAliases(const store::StoredUser& user,
                                const std::vector<std::string>& removed) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (const auto& alias : removed) {
    if (s.ok()) s = batch.Delete(cfs_[kAliases], alias);
  }
  for (const auto& alias : user.aliases()) {
    if (s.ok()) s = batch.Put(cfs_[kAliases], alias, user.address());
  }
  if (s.ok()) s = batch.Put(cfs_[kUsers], user.address(), user.SerializeAsString());
  if (!s.ok()) return MakeError(ErrorCode::kInternal, "keyservice store: " + s.ToString());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Write(wo, &batch);
  if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "keyservice store: " + s.ToString());
  return OkStatus();
}
Result<std::vector<store::StoredUser>> KeyStore::ListUsers() {
  return ScanMsg<store::StoredUser>(kUsers, "");
}

Result<std::optional<store::StoredDomain>> KeyStore::GetDomain(const std::string& name) {
  return GetMsg<store::StoredDomain>(kDomains, name);
}
Status KeyStore::PutDomain(const store::StoredDomain& domain) {
  return Put(kDomains, domain.name(), domain.SerializeAsString());
}
Result<std::vector<store::StoredDomain>> KeyStore::ListDomains() {
  return ScanMsg<store::StoredDomain>(kDomains, "");
}
Status KeyStore::DeleteDomain(const std::string& name) { return Delete(kDomains, name); }

Status KeyStore::PutKey(const store::StoredKey& key) {
  return Put(kKeys, OwnerKey(key.owner(), key.key_id()), key.SerializeAsString());
}
Result<std::vector<store::StoredKey>> KeyStore::ListKeys(const std::string& owner) {
  return ScanMsg<store::StoredKey>(kKeys, OwnerPrefix(owner));
}

Status KeyStore::PutCert(const store::StoredCert& cert) {
  return Put(kCerts, OwnerKey(cert.owner(), cert.fingerprint()), cert.SerializeAsString());
}
Result<std::vector<store::StoredCert>> KeyStore::ListCerts(const std::string& owner) {
  return ScanMsg<store::StoredCert>(kCerts, OwnerPrefix(owner));
}

Status KeyStore::PutPending(const store::StoredPending& pending) {
  return Put(kPending, pending.fingerprint(), pending.SerializeAsString());
}
Result<std::optional<store::StoredPending>> KeyStore::GetPending(const std::string& fingerprint) {
  return GetMsg<store::StoredPending>(kPending, fingerprint);
}
Status KeyStore::DeletePending(const std::string& fingerprint) {
  return Delete(kPending, fingerprint);
}
Result<std::vector<store::StoredPending>> KeyStore::ListPending() {
  return ScanMsg<store::StoredPending>(kPending, "");
}

Status KeyStore::PutTrust(const store::StoredTrust& trust) {
  return Put(kTrust, trust.fingerprint(), trust.SerializeAsString());
}
Status KeyStore::DeleteTrust(const std::string& fingerprint) {
  SG_ASSIGN_OR_RETURN(auto existing, Get(kTrust, fingerprint));
  if (!existing) {
    return MakeError(ErrorCode::kNotFound, "no trust anchor with fingerprint " + fingerprint);
  }
  return Delete(kTrust, fingerprint);
}
Result<std::vector<store::StoredTrust>> KeyStore::ListTrust() {
  return ScanMsg<store::StoredTrust>(kTrust, "");
}

Status KeyStore::AppendAudit(const store::StoredAudit& record) {
  return Put(kAudit, AuditKey(record.time_us(), audit_seq_.fetch_add(1)), record.SerializeAsString());
}

Result<std::vector<store::StoredAudit>> KeyStore::ListAudit(int64_t since_us, uint32_t limit) {
  std::vector<store::StoredAudit> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kAudit]));
  for (it->Seek(AuditKey(std::max<int64_t>(since_us, 0), 0)); it->Valid() && out.size() < limit;
       it->Next()) {
    store::StoredAudit record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return MakeError(ErrorCode::kCorruption, "keyservice store: broken record in audit");
    }
    out.push_back(std::move(record));
  }
  if (!it->status().ok()) {
    return MakeError(ErrorCode::kUnavailable, "keyservice store: " + it->status().ToString());
  }
  return out;
}

}  // namespace sg::keyservice
