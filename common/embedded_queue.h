// EmbeddedQueue: the Queue (common/queue.h) on RocksDB, for one machine.
//
// Durability: a produced record is acknowledged only after the RocksDB WAL
// holding it has been fsynced. Producers never sync one by one: a single
// writer thread takes everything pending, writes it as one WriteBatch with
// sync=true, and acknowledges the whole batch (group commit), so many
// concurrent producers share each fsync.
//
// Visibility: consumers see a record only once it is durable. Right after
// the synced write, before the produce callbacks, the writer wakes the
// members owning a written (unpaused) partition - a Poll blocked on that
// member's own condition variable, and its ready callback
// (common/queue_ready.h: its consumers are ReadyNotifiers) - and no one
// else: no consumer waits for a poll interval to find a durable record, and
// a record of one topic does not wake the readers of another.
//
// Commits: Commit updates the group's offset in memory and returns; the
// writer thread writes it (not synced) with its next batch of records, or
// on its own when none is pending, and Shutdown writes what is left. The
// caller never waits for a RocksDB write, which would queue behind the
// fsync of the batch in progress (egress commits on its event loop). A
// commit lost in a crash means its records are read again (redelivery,
// which egress's duplicate suppression absorbs), never loss.
//
// Consumer groups: all members live in this process. Partitions of the
// subscribed topics are spread round-robin over the members of a group and
// re-spread when a member joins or leaves; a member that gets a partition
// starts at the group's committed offset. Only the partitions that move
// are revoked; with SetDrainOnRevoke a moving partition stays with its old
// member until it releases it (common/queue.h), and only then goes to the
// new one.
//
// Clean-up: a background thread deletes the records of a partition that
// every group subscribed to its topic has committed, except the records a
// pin keeps (common/queue.h; common/embedded_queue_pins.h), which go when
// their last pin does. Groups are remembered
// across restarts, so a stage that is down does not lose its backlog.
// Topics created with a Retention (the dead-letter topic) are cleaned by it
// instead: records older than max_age, and the oldest while a partition
// holds more than max_bytes. Their records live in a column family of their
// own without blob files, and after a retention trim (or DeleteBefore) the
// memtables are flushed and that range compacted: removed records - a
// dead-lettered message may be decrypted mail - are gone from the files on
// disk, not only hidden.
//
// On disk (one RocksDB database, column families):
//   records:  <topic>\0<partition u32 BE><offset u64 BE> -> encoded record
//   retained: the same, for topics with a retention
//   meta:     t\0<topic> -> partitions u32 BE [+ flags u8: 1 = in retained];
//             c\0<group>\0<topic>\0<partition BE> -> committed;
//             h\0<topic>\0<partition BE><offset BE> -> the records it pins
//
// Threading: see common/queue.h. Internally one mutex guards the group and
// position state; reads of records happen outside it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/queue.h"

namespace sg::queue {

struct EmbeddedQueueOptions {
  std::string path;                       // database directory, created if missing
  bool sync = true;                       // fsync the WAL before acking (false only in tests)
  uint64_t max_record_bytes = 64ull << 20;  // larger records: kResourceExhausted
  uint64_t max_pending_bytes = 512ull << 20;  // produced but not yet written
  uint64_t max_batch_bytes = 32ull << 20;   // one WriteBatch
  std::chrono::milliseconds cleanup_interval{2000};
  // Wall clock for record timestamps and retention; tests inject a fake one.
  // Outlives the queue. Default (null): the system clock.
  const Clock* clock = nullptr;
};

class EmbeddedQueueImpl;

class EmbeddedQueue : public Queue {
 public:
  // Opens or creates the database. kIoError / kCorruption name the path.
  static Result<std::unique_ptr<EmbeddedQueue>> Open(const EmbeddedQueueOptions& options);
  ~EmbeddedQueue() override;

  Status EnsureTopics(const std::vector<TopicSpec>& topics) override;
  Result<std::unique_ptr<Producer>> CreateProducer() override;
  Result<std::unique_ptr<Consumer>> CreateConsumer(const std::string& group,
                                                   const std::vector<std::string>& topics) override;
  Result<int32_t> PartitionCount(const std::string& topic) override;
  Result<OffsetRange> Offsets(const TopicPartition& tp) override;
  Result<std::vector<Record>> ReadRange(const TopicPartition& tp, int64_t from,
                                        size_t max_records) override;
  Status DeleteBefore(const TopicPartition& tp, int64_t offset) override;
  // One point lookup (the default reads a range through an iterator).
  Result<Record> ReadRecord(const RecordRef& ref) override;

  // Runs one clean-up pass now (tests); returns how many partitions were trimmed.
  size_t CleanupNow();
  // Records stored for tp (tests and metrics).
  int64_t StoredRecords(const TopicPartition& tp);
  // Records of tp that pins keep alive now (tests).
  size_t PinnedRecords(const TopicPartition& tp);
  bool SupportsPins() const override { return true; }

 private:
  explicit EmbeddedQueue(std::shared_ptr<EmbeddedQueueImpl> impl);
  std::shared_ptr<EmbeddedQueueImpl> impl_;
};

}  // namespace sg::queue
