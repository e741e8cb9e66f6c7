// Duplicate suppression: a durable record of every (message id, form id,
// recipient) delivered, kept for a TTL.
//
// Egress checks it before delivering a recipient and writes it as soon as
// the next hop accepted the recipient. A record delivered again after a
// crash (of egress or of anything upstream that produced it twice)
// therefore reaches each recipient once. The remaining window is the
// unavoidable one of RFC 1047: a crash between the peer's final 250 and our
// write.
//
// SMTP deliveries are recorded with one write per transaction, right after
// the peer's final reply and before anything else happens on the loop: the
// write reaches the OS at once, so a crash of the process after it cannot
// deliver the transaction again (only a power loss before the next Sync()
// can). Maildir deliveries are recorded the same way (there the Maildir file
// name is the record, egress_maildir.h). Egress calls Sync() on a background thread and commits a queue
// offset only after the dedupe writes of its records are synced, so a power
// loss can at worst redeliver, never lose.
//
// Backed by RocksDB's DBWithTTL: entries older than the TTL disappear at
// compaction (they may be seen a little longer, which only makes
// suppression last longer).
//
// Threading: thread-safe (RocksDB is); calls block on disk I/O (a synced
// write is one WAL fsync).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace rocksdb {
class DBWithTTL;
}

namespace sg::egress {

class DedupeStore {
 public:
  // Opens (creating) the store in directory `path`.
  static Result<std::unique_ptr<DedupeStore>> Open(const std::string& path,
                                                   std::chrono::seconds ttl);
  ~DedupeStore();
  DedupeStore(const DedupeStore&) = delete;
  DedupeStore& operator=(const DedupeStore&) = delete;

  // True when this recipient of this message form was delivered already.
  Result<bool> Seen(std::string_view message_id, std::string_view form_id,
                    std::string_view recipient);
  // Records the delivery; it survives a crash of this process at once
  // (written to the OS) and a power loss after the next Sync().
  Status MarkDelivered(std::string_view message_id, std::string_view form_id,
                       std::string_view recipient);
  // Records several recipients of one message form in one write; with
  // `sync` the write is fsynced before this returns (power-loss safe).
  Status MarkDelivered(std::string_view message_id, std::string_view form_id,
                       const std::vector<std::string>& recipients, bool sync);
  // Makes every MarkDelivered before it power-loss safe (WAL fsync).
  Status Sync();

 private:
  explicit DedupeStore(rocksdb::DBWithTTL* db);
  static std::string Key(std::string_view message_id, std::string_view form_id,
                         std::string_view recipient);
  std::unique_ptr<rocksdb::DBWithTTL> db_;
};

}  // namespace sg::egress
