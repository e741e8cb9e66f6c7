// What the embedded queue remembers of pins (common/queue.h, "Pins"): which
// records hold pins on which, how many pins each pinned record has, and how
// far each partition has been trimmed, so the clean-up skips pinned records
// and removes them once their last pin is gone.
//
// On disk each pinning record has one entry in the meta column family,
// written in the same WriteBatch as the record and deleted in the same
// WriteBatch that removes it:
//   h\0<topic>\0<partition u32 BE><offset u64 BE> -> (len u32, topic, partition u32, offset u64)*
// The counts are rebuilt from these at open (Load).
//
// A trim is planned (PlanTrim, const), written by the queue, and only then
// applied (ApplyTrim): a failed write leaves the table as it was.
//
// Threading: not thread-safe; the queue guards it with its pins mutex.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/queue.h"

namespace sg::queue {

class PinTable {
 public:
  static std::string HolderKey(const RecordRef& holder);
  static bool IsHolderKey(std::string_view key);
  static std::string EncodeRefs(const std::vector<RecordRef>& refs);

  // Recovery: one stored holder entry; false when it is malformed (skipped).
  bool Load(std::string_view key, std::string_view value);

  // Whether `ref` can still be pinned: it is pinned already, or not below
  // its partition's trim (a record below it and unpinned is gone).
  bool Pinnable(const RecordRef& ref) const;
  // `holder` (a record being written) pins `refs`.
  void Add(const RecordRef& holder, const std::vector<RecordRef>& refs);
  // Undoes Add (the holder's write failed).
  void Remove(const RecordRef& holder);

  struct TrimPlan {
    TopicPartition tp;
    int64_t upto = 0;
    // Offsets [first, second) of tp to delete: [trim, upto) without the
    // records that stay pinned.
    std::vector<std::pair<int64_t, int64_t>> ranges;
    std::vector<RecordRef> holders;  // records of tp below upto that held pins
    // Records whose last pin goes with `holders` and that lie below their
    // partition's trim already: deleted one by one.
    std::vector<RecordRef> freed;
  };
  // What removing every record of tp before `upto` takes.
  TrimPlan PlanTrim(const TopicPartition& tp, int64_t upto) const;
  // Records the plan as done (after its write succeeded).
  void ApplyTrim(const TrimPlan& plan);

  // Pins held on records of tp (tests, metrics).
  size_t PinnedRecords(const TopicPartition& tp) const;

 private:
  struct TpLess {
    bool operator()(const TopicPartition& a, const TopicPartition& b) const {
      return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
    }
  };
  void Unpin(const RecordRef& ref);
  // Pin counts of pinned records, per partition.
  std::map<TopicPartition, std::map<int64_t, int32_t>, TpLess> pinned_;
  // The records each pinning record pins, per partition of the holder.
  std::map<TopicPartition, std::map<int64_t, std::vector<RecordRef>>, TpLess> holders_;
  // Every record of a partition before this offset is trimmed (since open).
  std::map<TopicPartition, int64_t, TpLess> trimmed_;
};

}  // namespace sg::queue
