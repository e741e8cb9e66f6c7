// The retry records egress keeps in memory until they are due (deferred),
// or until an administrator releases them (held), with what `smimegatectl
// queue` needs: find by message id, hold, release, make due now.
//
// A held record is never due. Records are owned here while queued; Take*
// hands them over (to an attempt, or to the dead-letter topic).
//
// Threading: single-threaded (the egress loop).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/queue.h"
#include "proto/envelope.pb.h"

namespace sg::egress {

// The header that marks a retry record as held, with who held it.
inline constexpr std::string_view kHeldHeader = "sg-held";

struct Deferred {
  queue::TopicPartition tp;
  int64_t offset = 0;
  smimegate::v1::MessageRecord rec;
  bool held = false;
  std::string held_by;
  // A held copy of this record is being produced: it is neither attempted
  // nor handed out again until that finishes.
  bool holding = false;
};

class DeferredSet {
 public:
  void Add(std::unique_ptr<Deferred> d);
  size_t size() const { return by_due_.size(); }
  bool empty() const { return by_due_.empty(); }

  // The earliest record due at `now` (not held), or null.
  std::unique_ptr<Deferred> TakeDue(int64_t now);
  // Every record of a message id, in due order.
  std::vector<Deferred*> Find(const std::string& message_id);
  // Removes one record (from Find) and hands it over.
  std::unique_ptr<Deferred> Take(const Deferred* d);
  // Makes deferred (not held) records due at `now`: those with a recipient
  // in `domain` (case-insensitive), or every one when domain is empty.
  uint32_t MakeDue(const std::string& domain, int64_t now);
  // Every record, in due order (held last).
  std::vector<const Deferred*> All() const;
  // The record read from tp at offset, or null.
  Deferred* At(const queue::TopicPartition& tp, int64_t offset);
  // Removes every record read from tp (held ones and ones being held too:
  // the partition went to another egress, which reads them again) and
  // returns their offsets.
  std::vector<int64_t> DropPartition(const queue::TopicPartition& tp);

 private:
  static int64_t DueOf(const Deferred& d);
  std::multimap<int64_t, std::unique_ptr<Deferred>> by_due_;
};

}  // namespace sg::egress
