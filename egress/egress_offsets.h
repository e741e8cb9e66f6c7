// Commit bookkeeping: records of one partition finish out of order (one
// waits for a slow MX, the next goes to a fast one), but a commit says
// "everything before N is done". The commit point of a partition is its
// lowest unfinished offset, or one past the highest seen when none is open.
//
// Threading: single-threaded (the egress loop).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/queue.h"

namespace sg::egress {

class OffsetTracker {
 public:
  void Add(const queue::TopicPartition& tp, int64_t offset);
  void Done(const queue::TopicPartition& tp, int64_t offset);
  // Partitions whose commit point moved since the last call, with the new point.
  std::vector<std::pair<queue::TopicPartition, int64_t>> TakeCommits();
  size_t Open() const;

 private:
  struct State {
    std::set<int64_t> open;
    int64_t next = 0;              // one past the highest offset seen
    int64_t committed = -1;        // last commit point handed out
  };
  std::map<std::pair<std::string, int32_t>, State> parts_;
};

}  // namespace sg::egress
