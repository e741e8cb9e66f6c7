// KeyStore: the keyservice's RocksDB database.
//
// Column families (values are keyservice_store.proto messages):
//   default  meta: schema version, KEK check value, built-in CA
//   users    address -> StoredUser
//   domains  domain -> StoredDomain (hosted domains)
//   keys     owner \0 key_id -> StoredKey (own keys; never deleted)
//   certs    owner \0 fingerprint -> StoredCert (trusted partner certificates)
//   pending  fingerprint -> StoredPending (harvested, CA not trusted yet)
//   trust    fingerprint -> StoredTrust (admin-added trust anchors)
//   audit    time (unix us, big-endian) + sequence -> StoredAudit (admin calls)
//   aliases  alias address -> owner address (the alias index; the owner's
//            StoredUser lists the same aliases; both change in one batch)
// Private keys are stored only sealed under the KEK (kek.h); this class never
// sees a plaintext key. Writes are synced (WAL fsync): an issued key is
// never lost after it was handed out.
//
// Threading: thread-safe (RocksDB is). Read-modify-write sequences are
// serialised by the caller (KeyServiceImpl's per-address locks).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "keyservice/keyservice_store.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace sg::keyservice {

namespace store = ::smimegate::keyservice::store;

class KeyStore {
 public:
  // Opens or creates the store at `path`. kUnavailable naming the path when
  // it is locked by another process or unreadable.
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& path);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status PutMeta(const std::string& key, const std::string& value);
  Status DeleteMeta(const std::string& key);
  // The values of every meta key starting with `prefix`, in key order.
  Result<std::vector<std::string>> ScanMeta(const std::string& prefix);
  // The same as (key, value) pairs.
  Result<std::vector<std::pair<std::string, std::string>>> ScanMetaKeys(const std::string& prefix);

  Result<std::optional<store::StoredUser>> GetUser(const std::string& address);
  Status PutUsers(const std::vector<store::StoredUser>& users);  // one atomic batch
  // Also deletes the user's aliases from the alias index.
  Status DeleteUser(const std::string& address);
  Result<std::vector<store::StoredUser>> ListUsers();

  // The user an alias belongs to (one point read).
  Result<std::optional<std::string>> GetAliasOwner(const std::string& alias);
  // One batch: writes |user| (with its new alias list), deletes |removed|
  // from the alias index and maps user.aliases() to user.address().
  Status PutUserAliases(const store::StoredUser& user, const std::vector<std::string>& removed);
  Status DeleteAlias(const std::string& alias);  // an index entry without its user

  Result<std::optional<store::StoredDomain>> GetDomain(const std::string& name);
  Status PutDomain(const store::StoredDomain& domain);
  Result<std::vector<store::StoredDomain>> ListDomains();
  Status DeleteDomain(const std::string& name);

  Status PutKey(const store::StoredKey& key);
  Result<std::vector<store::StoredKey>> ListKeys(const std::string& owner);  // "" = all

  Status PutCert(const store::StoredCert& cert);
  Result<std::vector<store::StoredCert>> ListCerts(const std::string& owner);  // "" = all

  Status PutPending(const store::StoredPending& pending);
  Result<std::optional<store::StoredPending>> GetPending(const std::string& fingerprint);
  Status DeletePending(const std::string& fingerprint);
  Result<std::vector<store::StoredPending>> ListPending();

  // Audit records are only ever appended (no retention: admin calls are few).
  Status AppendAudit(const store::StoredAudit& record);
  Result<std::vector<store::StoredAudit>> ListAudit(int64_t since_us, uint32_t limit);

  Status PutTrust(const store::StoredTrust& trust);
  Status DeleteTrust(const std::string& fingerprint);  // kNotFound when absent
  Result<std::vector<store::StoredTrust>> ListTrust();

 private:
  enum Cf { kMeta = 0, kUsers, kDomains, kKeys, kCerts, kPending, kTrust, kAudit, kAliases, kNumCf };
  KeyStore() = default;

  Result<std::optional<std::string>> Get(Cf cf, const std::string& key);
  Status Put(Cf cf, const std::string& key, const std::string& value);
  Status Delete(Cf cf, const std::string& key);
  Result<std::vector<std::string>> Scan(Cf cf, const std::string& prefix);

  template <typename M>
  Result<std::optional<M>> GetMsg(Cf cf, const std::string& key);
  template <typename M>
  Result<std::vector<M>> ScanMsg(Cf cf, const std::string& prefix);

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::atomic<uint32_t> audit_seq_{0};
};

}  // namespace sg::keyservice
