// DecryptGuardStore: the keyservice's DecryptFailureGuard (decrypt_guard.h),
// in a RocksDB database of its own (keyservice.decrypt_guard.path, default
// <data_dir>/decrypt-guard), or in memory (empty path: tests).
//
// What it keeps, each entry with the time it was written:
//   content keys  digest -> ciphertext digest, first message id
//   DSNs sent     (sender, key digest) -> message id
//   DSN windows   sender domain -> window start, DSNs in it
// Bounded: entries older than `ttl` are deleted, and beyond `max_entries`
// the oldest go first (a sweep every 256 writes and at open). Writes go to
// the WAL without fsync: a crash of the process keeps them, a power failure
// may lose the last moments (an attacker gains nothing from that).
//
// Threading: thread-safe (one mutex around each read-modify-write).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/decrypt_guard.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace sg::keyservice {

struct DecryptGuardOptions {
  std::string path;  // RocksDB directory; empty: in memory
  std::chrono::milliseconds ttl{std::chrono::hours(24 * 30)};
  size_t max_entries = 1000000;
  uint32_t dsn_per_domain = 20;  // failure DSNs per sender domain per window
  std::chrono::milliseconds dsn_window{std::chrono::hours(1)};
};

class DecryptGuardStore : public DecryptFailureGuard {
 public:
  // kUnavailable naming the path when the database cannot be opened.
  static Result<std::unique_ptr<DecryptGuardStore>> Open(const DecryptGuardOptions& options);
  ~DecryptGuardStore() override;

  Result<ContentKeyVerdict> ObserveContentKey(const ContentKeySighting& sighting) override;
  Result<DsnPermission> PermitFailureDsn(const FailureDsnRequest& request) override;

  // Entries kept now (content keys, DSNs, windows), for tests and metrics.
  size_t entries() const;

 private:
  explicit DecryptGuardStore(const DecryptGuardOptions& options);
  Result<std::optional<std::string>> Get(const std::string& key);
  // Writes |key| = be64(now) + |rest| and its time-index entry.
  Status Remember(const std::string& key, int64_t now_ms, const std::string& rest);
  // Deletes what is older than ttl, then the oldest beyond max_entries.
  void Sweep(int64_t now_ms);
  void CountEntries();

  DecryptGuardOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<rocksdb::Env> mem_env_;
  std::unique_ptr<rocksdb::DB> db_;
  size_t entries_ = 0;
  uint32_t writes_since_sweep_ = 0;
};

}  // namespace sg::keyservice
