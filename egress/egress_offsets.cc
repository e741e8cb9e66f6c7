#include "egress/egress_offsets.h"

namespace sg::egress {

void OffsetTracker::Add(const queue::TopicPartition& tp, int64_t offset) {
  auto& st = parts_[{tp.topic, tp.partition}];
  if (st.lost || st.low < 0) {
    // New, or back from another consumer: only what is added from now on
    // was finished here.
    st.low = offset;
    st.added_next = offset + 1;
  } else if (offset + 1 > st.added_next) {
    st.added_next = offset + 1;
  }
  st.lost = false;
  st.open.insert(offset);
  if (offset + 1 > st.next) st.next = offset + 1;
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
  return !st.lost && st.low >= 0 && offset >= st.low && offset < st.added_next &&
         st.open.count(offset) == 0;
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
  for (int64_t o : dropped) st.open.erase(o);
  // What this consumer saw and committed says nothing about the partition
  // once another one owned it: start over from what is read again.
  st.lost = true;
  st.committed = -1;
  st.next = st.open.empty() ? 0 : *st.open.rbegin() + 1;
}

std::vector<std::pair<queue::TopicPartition, int64_t>> OffsetTracker::TakeCommits() {
  std::vector<std::pair<queue::TopicPartition, int64_t>> out;
  for (auto& [key, st] : parts_) {
    if (st.lost) continue;
    int64_t point = st.open.empty() ? st.next : *st.open.begin();
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
