// What the embedded queue remembers of each record of a topic that has a
// Retention (common/queue.h): offset, time and size, so the clean-up thread
// finds what to remove by age and by bytes without reading the records.
// Built from disk at open, appended to by the writer.
//
// Threading: not thread-safe; the queue guards it with its state mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "common/queue.h"

namespace sg::queue {

class RetentionIndex {
 public:
  void Add(const TopicPartition& tp, int64_t offset, int64_t timestamp_ms, uint64_t bytes);

  // The first offset tp keeps under `retention` at now_ms (every record
  // before it is older than max_age, or would put the partition above
  // max_bytes); nullopt when nothing is due.
  std::optional<int64_t> TrimPoint(const TopicPartition& tp, const Retention& retention,
                                   int64_t now_ms) const;

  // Forgets the records of tp before `offset` (they were deleted).
  void DropBefore(const TopicPartition& tp, int64_t offset);
  // Forgets the records of tp from `offset` on (their write failed).
  void DropFrom(const TopicPartition& tp, int64_t offset);

  uint64_t Bytes(const TopicPartition& tp) const;
  // The first offset held, or nullopt when the partition is empty.
  std::optional<int64_t> First(const TopicPartition& tp) const;

 private:
  struct Entry {
    int64_t offset;
    int64_t timestamp_ms;
    uint64_t bytes;
  };
  struct Partition {
    std::deque<Entry> entries;
    uint64_t bytes = 0;
  };
  struct TpLess {
    bool operator()(const TopicPartition& a, const TopicPartition& b) const {
      return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
    }
  };
  std::map<TopicPartition, Partition, TpLess> partitions_;
};

}  // namespace sg::queue
