// Managing the dead-letter topic (what `smimegatectl deadletter` does):
// list what is held, show one record, replay it, purge.
//
//   list    oldest first, from an id on, with a summary of each record (the
//           envelope of a MessageRecord: sender, recipients, size; no body)
//   show    one record whole: headers and value
//   replay  a copy back onto the topic it came from (a retry-topic record
//           onto deliver), with the delivery state and attempt counters
//           reset and header sg-replayed; the dead letter itself stays until
//           purged or expired (egress suppresses duplicates per message,
//           form and recipient, so replaying twice delivers once)
//   purge   every record, those before an id, or those older than an age;
//           in the queue's order (a queue removes a prefix, never one record
//           from the middle)
//
// An id is "<partition>:<offset>" ("0:17"); the dead-letter topic has one
// partition, so "17" works too.
//
// Admin is the interface the CLI uses; QueueDeadLetters implements it on a
// queue (the embedded queue inside `smimegate run`, reached through the
// QueueAdmin gRPC service, or Kafka directly), QueueAdminClient over gRPC.
//
// Threading: implementations are thread-safe as their queue is.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/queue.h"

namespace sg::deadletter {

struct Id {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string ToString() const;
  // "0:17" or "17"; kInvalidArgument naming the text.
  static Result<Id> Parse(const std::string& text);
};

struct Entry {
  Id id;
  int64_t timestamp_ms = 0;  // when it was dead-lettered
  std::string key;           // the message id
  std::string reason;
  std::string source_topic;
  std::string stage;
  // From the MessageRecord, when the value is one.
  std::string mail_from;
  std::vector<std::string> recipients;
  uint64_t message_bytes = 0;
  // Show only.
  std::vector<queue::Header> headers;
  std::string value;
};

struct ListOptions {
  std::optional<Id> from;  // default: the oldest held
  uint32_t limit = 100;
};

struct ListResult {
  std::vector<Entry> entries;
  uint64_t held = 0;  // records in the topic now
};

struct PurgeRequest {
  bool all = false;
  std::optional<Id> before;  // every record before this one
  std::optional<std::chrono::milliseconds> older_than;
};

class Admin {
 public:
  virtual ~Admin() = default;
  virtual Result<ListResult> List(const ListOptions& options) = 0;
  // kNotFound when the id is not (or no longer) held.
  virtual Result<Entry> Show(const Id& id) = 0;
  // The topic the copy went to.
  virtual Result<std::string> Replay(const Id& id) = 0;
  // How many records were removed. kInvalidArgument unless exactly one of
  // all / before / older_than is given.
  virtual Result<uint64_t> Purge(const PurgeRequest& request) = 0;
};

class QueueDeadLetters final : public Admin {
 public:
  // `queue` outlives this; `topic_prefix` is queue.topic_prefix; `clock`
  // decides "older than" and outlives this; null: the system clock.
  QueueDeadLetters(queue::Queue& queue, std::string topic_prefix,
                   const Clock* clock = nullptr);

  Result<ListResult> List(const ListOptions& options) override;
  Result<Entry> Show(const Id& id) override;
  Result<std::string> Replay(const Id& id) override;
  Result<uint64_t> Purge(const PurgeRequest& request) override;

  // What Replay produces for `record` (exposed for tests).
  Result<queue::OutRecord> ReplayRecord(const queue::Record& record) const;

 private:
  Result<queue::Record> Read(const Id& id);
  // The first offset of tp at or after `cutoff_ms`, or the end.
  Result<int64_t> FirstNotOlderThan(const queue::TopicPartition& tp, int64_t cutoff_ms);

  queue::Queue& queue_;
  std::string prefix_;
  std::string topic_;
  const Clock& clock_;
};

// The summary fields of an Entry from a dead-letter record (headers, and
// the envelope when the value is a MessageRecord); value and headers only
// when `whole`.
Entry EntryOf(const queue::Record& record, bool whole);

}  // namespace sg::deadletter
