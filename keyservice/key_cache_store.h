// KeyCacheStore: the RocksDB file behind the worker-side key cache
// (CachingKeyService, keyservice/key_cache.h).
//
// It holds PUBLIC material only: encryption certificates (also the "no
// certificate" answer), participation and the trust anchors, each with its
// expiry, plus the keyservice change-log position (epoch, version) those
// entries are current to. There is no way to store a private key here, and
// there must never be one: a worker has no key-encryption key, and private
// keys are never stored unencrypted (signing identities and decryption keys
// stay in the cache's memory only).
//
// Consistency: invalidations and the new position are written in one
// WriteBatch (ApplyChanges), so after a crash the file is at some position
// with exactly the entries that survived the events up to it. Writes are not
// synced: RocksDB recovers a prefix of its log, which is still consistent
// (an entry written after an invalidation cannot survive without it).
//
// Failure policy (it is only a cache): a database that does not open
// (corrupt or unreadable) is wiped with a warning and the cache starts cold;
// a directory another process holds (RocksDB LOCK) is a start-up error,
// because two workers must not share one cache directory. Unreadable records
// later are misses.
//
// Threading: thread-safe (RocksDB is); the caller orders writes that must
// not interleave (CachingKeyService holds its lock around them).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/key_service.h"

namespace rocksdb {
class CompactionFilter;
class DB;
}

namespace sg::keyservice {

struct CachePosition {
  uint64_t epoch = 0;  // 0: never synchronised
  uint64_t version = 0;
  bool operator==(const CachePosition&) const = default;
};

template <typename T>
struct Persisted {
  T value;
  std::chrono::system_clock::time_point expires;
};

class KeyCacheStore {
 public:
  // Opens (creates) the cache at `path`. `config_key` names the setting in
  // error messages. Errors: kUnavailable when another process (or another
  // cache in this process) holds the directory; kIoError when the directory
  // cannot be created or a wiped database still does not open.
  // Entries expired more than `keep_expired` ago (useless even as stale
  // answers) are dropped when RocksDB compacts, so the file does not grow
  // with every address ever seen.
  static Result<std::unique_ptr<KeyCacheStore>> Open(
      const std::string& path, const std::string& config_key,
      std::chrono::milliseconds keep_expired = std::chrono::hours(1));
  ~KeyCacheStore();
  KeyCacheStore(const KeyCacheStore&) = delete;
  KeyCacheStore& operator=(const KeyCacheStore&) = delete;

  // The position stored with the entries ({0, 0} for a new or wiped file).
  CachePosition position() const { return position_; }
  // True when Open found the database unusable and started a new one.
  bool wiped() const { return wiped_; }

  // nullopt: not stored (or unreadable: logged and treated as a miss).
  std::optional<Persisted<std::optional<EncryptionCertificate>>> GetEncryption(
      const std::string& address);
  std::optional<Persisted<bool>> GetParticipation(const std::string& address);
  std::optional<Persisted<TrustAnchors>> GetAnchors();

  Status PutEncryption(const std::string& address,
                       const Persisted<std::optional<EncryptionCertificate>>& entry);
  Status PutParticipation(const std::string& address, const Persisted<bool>& entry);
  Status PutAnchors(const Persisted<TrustAnchors>& entry);

  // One atomic batch: delete the entries of `addresses` (all entries when
  // `drop_all`) and move to `position`.
  Status ApplyChanges(const std::vector<std::string>& addresses, bool drop_all,
                      CachePosition position);

  // RocksDB's estimate of the number of records (metrics).
  uint64_t EstimateEntries();
  // Every stored value, raw (tests: proves what is and is not persisted).
  std::vector<std::string> RawValuesForTest();
  // Compacts everything now (tests: runs the expiry filter).
  void CompactForTest();

 private:
  KeyCacheStore() = default;
  static Result<std::unique_ptr<KeyCacheStore>> OpenOnce(
      const std::string& path, const std::string& config_key,
      std::shared_ptr<rocksdb::CompactionFilter> filter);
  std::optional<std::string> GetRaw(const std::string& key);
  Status PutRaw(const std::string& key, const std::string& value);

  std::shared_ptr<rocksdb::CompactionFilter> filter_;  // outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::string path_;
  std::string config_key_;
  CachePosition position_;
  bool wiped_ = false;
};

}  // namespace sg::keyservice
