#include "egress/egress_offsets.h"

#include <algorithm>

namespace sg::egress {

void OffsetTracker::Add(const queue::TopicPartition& tp, int64_t offset) {
  auto& st = parts_[{tp.topic, tp.partition}];
  if (st.lost || st.low < 0) {
    // New, or back from another consumer: only what is added from now on
    // was read here. Reading starts at the group's commit point, so that
    // point is committed already.
    st.low = offset;
    st.next = offset + 1;
    st.committed = offset;
  } else if (offset + 1 > st.next) {
    st.next = offset + 1;
  }
  st.lost = false;
  st.open.insert(offset);
  // Read past: an open one holds the commit point itself, a done one is
  // finished within [low, next).
  st.carried.erase(st.carried.begin(), st.carried.lower_bound(st.next));
}

void OffsetTracker::Done(const queue::TopicPartition& tp, int64_t offset) {
  auto it = parts_.find({tp.topic, tp.partition});
  if (it != parts_.end()) it->second.open.erase(offset);
}

bool OffsetTracker::IsOpen(const queue::TopicPartition& tp, int64_t offset) const {
  auto it = parts_.find({tp.topic, tp.partition});
  return it != parts_.end() && it->second.open.count(offset) > 0;
}

bool OffsetTracker::IsFinished(const queue::TopicPartition& tp, int64_t offset) const {
  auto it = parts_.find({tp.topic, tp.partition});
  if (it == parts_.end()) return false;
  const State& st = it->second;
  if (st.open.count(offset) > 0) return false;
  // Finished here while the partition was another consumer's: its outcome
  // is as durable as any other done record's.
  if (st.carried.count(offset) > 0) return true;
  return !st.lost && st.low >= 0 && offset >= st.low && offset < st.next;
}

void OffsetTracker::CommitFailed(const queue::TopicPartition& tp, int64_t point) {
  auto it = parts_.find({tp.topic, tp.partition});
  if (it == parts_.end() || it->second.lost) return;
  if (it->second.committed == point) it->second.committed = point - 1;
}

void OffsetTracker::Lose(const queue::TopicPartition& tp, const std::vector<int64_t>& dropped) {
  auto it = parts_.find({tp.topic, tp.partition});
  if (it == parts_.end()) return;
  State& st = it->second;
  for (int64_t o : dropped) {
    st.open.erase(o);
    st.carried.erase(o);
  }
  // What this consumer saw and committed says nothing about the partition
  // once another one owned it: start over from what is read again. What is
  // still in hand is finished here, when it is done.
  st.lost = true;
  st.committed = -1;
  st.carried.insert(st.open.begin(), st.open.end());
}

std::vector<std::pair<queue::TopicPartition, int64_t>> OffsetTracker::TakeCommits() {
  std::vector<std::pair<queue::TopicPartition, int64_t>> out;
  for (auto& [key, st] : parts_) {
    if (st.lost) continue;
    // One past what was read, and past the carried records done since;
    // not past an open one. A record handed over at Lose and not read
    // again lies at or past `next`: no point passes it.
    int64_t point = st.next;
    while (st.carried.count(point) > 0 && st.open.count(point) == 0) ++point;
    if (!st.open.empty()) point = std::min(point, *st.open.begin());
    if (point > st.committed) {
      st.committed = point;
      out.emplace_back(queue::TopicPartition{key.first, key.second}, point);
    }
  }
  return out;
}

size_t OffsetTracker::Open() const {
  size_t n = 0;
  for (const auto& [k, st] : parts_) n += st.open.size();
  return n;
}

}  // namespace sg::egress
