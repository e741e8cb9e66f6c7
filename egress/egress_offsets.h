// Commit bookkeeping: records of one partition finish out of order (one
// waits for a slow MX, the next goes to a fast one), but a commit says
// "everything before N is done". The commit point of a partition is its
// lowest unfinished offset: the lowest open one, or one past the highest
// read (added) when none is open - never past a record not read yet.
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
  // True while the record at tp/offset is added and not done: it is in hand
  // (being delivered or waiting for its retry). A record read again (a
  // rebalance restarts a partition at its last commit) is then skipped.
  bool IsOpen(const queue::TopicPartition& tp, int64_t offset) const;
  // True when the record at tp/offset was added and is done, and tp has not
  // gone to another consumer since: this egress has finished it (delivered,
  // deferred to the retry topic, bounced or dead-lettered). A partition that
  // came back to this consumer after a rebalance restarts at the group's
  // committed offset, which lags behind when a commit was refused (a broker
  // refuses commits while the group rebalances): such a record is skipped
  // rather than attempted a second time. So is a record that was in hand
  // when tp went to another consumer and was done here meanwhile.
  bool IsFinished(const queue::TopicPartition& tp, int64_t offset) const;
  // The commit of `point` handed out by TakeCommits did not succeed (refused
  // during a rebalance, timed out): TakeCommits hands the point out again,
  // unless a later one was handed out since (it covers this one).
  void CommitFailed(const queue::TopicPartition& tp, int64_t point);
  // tp went to another consumer: `dropped` (records in hand that the new
  // owner reads again) are forgotten, and no commit point is handed out for
  // tp until a record of it is added again (it came back); records still
  // being delivered stay open until Done. When tp comes back, its commit
  // point passes a dropped record only once that is read again.
  void Lose(const queue::TopicPartition& tp, const std::vector<int64_t>& dropped);
  // Partitions whose commit point moved since the last call, with the new
  // point. Where reading of a partition (re)started is the group's commit
  // point already: it is not handed out (committing it changes nothing).
  std::vector<std::pair<queue::TopicPartition, int64_t>> TakeCommits();
  size_t Open() const;

 private:
  struct State {
    std::set<int64_t> open;
    // [low, next): the offsets added (read), in order, since the state was
    // created or the partition came back from another consumer; -1: none.
    int64_t low = -1;
    int64_t next = -1;
    // Records still in hand here when the partition went to another
    // consumer (Lose), not read again since: open until Done, finished here
    // then. A commit point may pass them only once they are done.
    std::set<int64_t> carried;
    int64_t committed = -1;  // last commit point handed out (or where reading started)
    bool lost = false;       // owned by another consumer (Lose)
  };
  std::map<std::pair<std::string, int32_t>, State> parts_;
};

}  // namespace sg::egress
