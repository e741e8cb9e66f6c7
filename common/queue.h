// The queue: the only way stages talk to each other.
//
// One interface, two implementations with the same semantics (DESIGN.md):
//   - EmbeddedQueue (common/embedded_queue.h): RocksDB with a synced WAL, for
//     one machine, all stages in one process.
//   - KafkaQueue: librdkafka, idempotent producer with acks=all, for the
//     distributed mode.
// Both are tested by one parameterised suite (tests/common/queue_test.cc).
//
// Semantics
//   - Named topics with a fixed number of partitions. A record goes to the
//     partition its key hashes to (the same key always lands on the same
//     partition), or to an explicit partition.
//   - Produce is asynchronous. Its callback runs exactly once: with OK only
//     when the record is durable (RocksDB WAL fsynced / Kafka acks=all), or
//     with an error when it definitely was not stored. Ingress answers
//     SMTP 250 from that callback and nothing earlier (invariant 1).
//   - Consumers belong to a group. Each partition is owned by one member of
//     a group at a time and read in offset order. Commit(next_offset) says
//     every record before next_offset is processed; after a crash or a
//     rebalance, consumption resumes at the last commit, so uncommitted
//     records are delivered again (at least once, invariant 2).
//   - Committed records that every group has passed are cleaned up - except
//     on a topic created with a Retention (the dead-letter topic): its
//     records stay until they are older than max_age or the partition holds
//     more than max_bytes (oldest first), whatever the groups did, like
//     Kafka's retention.ms / retention.bytes.
//   - Administration (ReadRange, Offsets, DeleteBefore) reads and trims a
//     partition outside any group: what `smimegatectl deadletter` uses.
//   - Pins (SupportsPins() only; issue 21, "the body written once"): a
//     record produced with OutRecord::pins keeps each record it names alive
//     until the pinning record itself is cleaned up. Clean-up, retention and
//     DeleteBefore skip a pinned record (it may outlive the records around
//     it; ReadRecord still finds it) and remove it once its last pin is gone.
//     The pin is taken in the same durable write as the pinning record and
//     released in the same write that removes it, so a crash never frees a
//     pinned record nor keeps an unpinned one for ever.
//
// Threading: a Queue, its Producers and Consumers may be used from any
// thread. A Consumer is used by one thread at a time (Wakeup, Lag and
// OwnedLag excepted).
// Produce callbacks run on a queue-owned thread and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sg::queue {

struct Header {
  std::string key;
  std::string value;
};

// One stored record: what a pin names and ReadRecord reads.
struct RecordRef {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  bool operator==(const RecordRef&) const = default;
};

// A record to produce.
struct OutRecord {
  std::string topic;
  std::string key;  // partitioning key; usually the message id
  std::vector<Header> headers;
  std::string value;
  std::optional<int32_t> partition;  // overrides the key hash when set
  // Records this one keeps alive (see "Pins" above). Refused with
  // kUnsupported by a queue without SupportsPins(), and with kNotFound when
  // a pinned record is already gone.
  std::vector<RecordRef> pins = {};
};

// A record as consumed.
struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // when it was produced (wall clock)
  std::string key;
  std::vector<Header> headers;
  std::string value;

  // The first header with this key, or nullopt.
  std::optional<std::string_view> FindHeader(std::string_view header_key) const;
};

// How long records of a topic are kept regardless of consumers; 0 is no
// limit of that kind. Both limits apply per partition.
struct Retention {
  std::chrono::milliseconds max_age{0};
  uint64_t max_bytes = 0;
};

struct TopicSpec {
  TopicSpec() = default;
  TopicSpec(std::string n, int32_t p, std::optional<Retention> r = std::nullopt)
      : name(std::move(n)), partitions(p), retention(r) {}
  std::string name;
  int32_t partitions = 1;
  // Set: records are removed by this retention, not by consumer commits.
  std::optional<Retention> retention;
};

// The offsets a partition holds: [low, high). low == high when it is empty.
struct OffsetRange {
  int64_t low = 0;
  int64_t high = 0;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
};

// How far a group is behind on one partition (end offset - committed offset).
struct PartitionLag {
  TopicPartition tp;
  int64_t committed = 0;
  int64_t end = 0;
  int64_t lag() const { return end > committed ? end - committed : 0; }
};

// Called exactly once per produced record; see "Semantics" above.
using ProduceCallback = std::function<void(Status)>;

class Producer {
 public:
  virtual ~Producer() = default;

  // Queues `record` for durable storage. Never blocks on I/O. Errors:
  // kNotFound (unknown topic), kResourceExhausted (record too large or
  // too much in flight), kUnavailable / kTimeout (storage or broker down),
  // kCancelled (queue closing). The callback may run before Produce returns
  // when the record is refused at once.
  virtual void Produce(OutRecord record, ProduceCallback done) = 0;

  // Waits until every callback of records produced so far has run.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
};

class Consumer {
 public:
  virtual ~Consumer() = default;

  // Returns up to max_records records of the partitions this member owns,
  // waiting up to `timeout` for the first one; an empty vector on timeout or
  // Wakeup. Records of one partition come in offset order.
  virtual Result<std::vector<Record>> Poll(size_t max_records,
                                           std::chrono::milliseconds timeout) = 0;

  // Marks every record of tp before next_offset as processed. A commit lost
  // in a crash only means those records are delivered again (never lost);
  // a commit lower than the current one is ignored. kPermissionDenied when
  // this member no longer owns the partition (it was rebalanced away: its
  // records will be delivered to the new owner, so the caller just drops
  // them).
  virtual Status Commit(const TopicPartition& tp, int64_t next_offset) = 0;
  // Commit for several partitions at once: one status per entry, in order,
  // each what Commit would have returned for it. Kafka sends them in one
  // OffsetCommit request (one broker round trip instead of one each); the
  // default calls Commit for each entry. A partition named twice gets the
  // higher offset.
  using OffsetCommit = std::pair<TopicPartition, int64_t>;
  virtual std::vector<Status> CommitMany(const std::vector<OffsetCommit>& commits);

  // Stops returning records of tp until Resume (used for scheduled retries).
  virtual void Pause(const TopicPartition& tp) = 0;
  virtual void Resume(const TopicPartition& tp) = 0;

  // Re-reads tp from `offset` on the next Poll (an owned partition only).
  virtual Status Seek(const TopicPartition& tp, int64_t offset) = 0;

  // Partitions this member owns right now.
  virtual std::vector<TopicPartition> Assignment() = 0;

  // Partitions this member owned and lost to another member since the last
  // call (a rebalance after a member joined or left, or this member dropped
  // from the group), each once. Records of them this member still holds
  // uncommitted are the new owner's now (it reads them again from the last
  // commit): the caller forgets them instead of acting on them. A partition
  // taken away and given back within one rebalance is not lost; its
  // uncommitted records may come again from Poll (at least once), which the
  // caller recognises by their offsets. Used by one thread, like Poll.
  virtual std::vector<TopicPartition> TakeLostPartitions() = 0;

  // --- Handing partitions over after their work is done (opt-in) ---------
  //
  // SetDrainOnRevoke(true) (before the first Poll): a partition that a
  // rebalance takes from this member does not go at once. It is "revoking"
  // (RevokingPartitions): Poll returns no more of its records, Commit still
  // works on it, and it stays this member's until ReleaseRevoking(). Only
  // then does its new owner get it, reading from what this member has
  // committed: a caller that first finishes the records it has in hand of
  // it and commits them hands it over without any record being processed
  // twice. The caller bounds the wait (it keeps polling meanwhile), because
  // the rebalance waits for it: Kafka, the whole group (its eager protocol
  // revokes every partition of every member; keep the wait well below
  // max.poll.interval.ms, after which the group drops this member);
  // embedded, only the moving partitions' new owner. A partition released
  // this way that went to another member is reported by TakeLostPartitions,
  // as without draining. A partition lost without a revocation (Kafka: the
  // session timed out) is never revoking. Close releases what is revoking.
  virtual void SetDrainOnRevoke(bool drain) = 0;
  // The partitions revoking now; empty when none (or draining is off).
  virtual std::vector<TopicPartition> RevokingPartitions() = 0;
  // Lets every revoking partition go now (no-op when none).
  virtual void ReleaseRevoking() = 0;

  // Lag of this consumer's group on every partition of its topics. May
  // block on the network (Kafka); safe to call from another thread.
  virtual Result<std::vector<PartitionLag>> Lag() = 0;

  // Lag of the partitions this member owns now, and of no other: per owned
  // partition, `end` is the partition's end offset as this member last saw
  // it and `committed` the offset it committed itself (before its first
  // commit: where it started reading after the assignment, i.e. the group's
  // committed offset then). A partition whose end or start is not known yet
  // (Kafka: no fetch answered since the assignment) is left out; a
  // partition rebalanced away is gone from the next call on. Empty when
  // closed. What a process exports as its share of the group's lag: summed
  // over the members of a group, each partition counts exactly once.
  // Fresh: embedded, at the call; Kafka, as of this member's last Poll (the
  // high watermark of the last fetch response and the assignment the
  // polling thread saw). Never touches the network and never blocks on I/O;
  // safe to call from any thread while the member is open (Kafka: only a
  // snapshot the polling thread publishes under a mutex is read, no
  // librdkafka call is made on the caller's thread).
  virtual std::vector<PartitionLag> OwnedLag() = 0;

  // Makes a blocked Poll return early. Safe from any thread.
  virtual void Wakeup() = 0;

  // Leaves the group; its partitions go to the remaining members. Records
  // polled but not committed are delivered again to their new owner.
  virtual void Close() = 0;
};

// Closes every consumer at the same time: each Close may take up to the
// queue's close timeout when the brokers are gone, so a stage with several
// consumers would otherwise need that many times as long to stop.
void CloseAll(const std::vector<Consumer*>& consumers);

class Queue {
 public:
  virtual ~Queue() = default;

  // Creates missing topics; kInvalidArgument when an existing topic has a
  // different partition count, kNotFound (naming the topic) when topics
  // cannot be created here and are missing.
  virtual Status EnsureTopics(const std::vector<TopicSpec>& topics) = 0;

  virtual Result<std::unique_ptr<Producer>> CreateProducer() = 0;

  // Joins `group` and subscribes to `topics` (which must exist).
  virtual Result<std::unique_ptr<Consumer>> CreateConsumer(
      const std::string& group, const std::vector<std::string>& topics) = 0;

  // --- administration: outside any consumer group, no commits ---------------

  // Partitions of `topic`; kNotFound when it does not exist.
  virtual Result<int32_t> PartitionCount(const std::string& topic) = 0;
  // The offsets tp holds now.
  virtual Result<OffsetRange> Offsets(const TopicPartition& tp) = 0;
  // Up to max_records records of tp from offset `from` on (from the first
  // one still held when `from` is older), in offset order. May block on the
  // network (Kafka).
  virtual Result<std::vector<Record>> ReadRange(const TopicPartition& tp, int64_t from,
                                                size_t max_records) = 0;
  // Removes every record of tp before `offset` (at most up to the end): the
  // records are gone for every group, and from disk once the queue compacts
  // (the embedded queue does so at once; Kafka when it deletes the segment).
  virtual Status DeleteBefore(const TopicPartition& tp, int64_t offset) = 0;

  // --- pins (see "Semantics") ---------------------------------------------

  // Whether OutRecord::pins is honoured. False: a record with pins is
  // refused, and a caller copies instead of referring (the Kafka mode).
  virtual bool SupportsPins() const { return false; }
  // The record at exactly `ref`; kNotFound (naming it) when it is gone. May
  // block on I/O. The default reads ReadRange(ref, ref.offset, 1).
  virtual Result<Record> ReadRecord(const RecordRef& ref);
};

// The partition a key maps to; the same in every implementation (murmur2,
// like Kafka's default partitioner, so both modes place records alike).
int32_t PartitionForKey(std::string_view key, int32_t partitions);

}  // namespace sg::queue
