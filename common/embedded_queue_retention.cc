#include "common/embedded_queue_retention.h"

namespace sg::queue {

void RetentionIndex::Add(const TopicPartition& tp, int64_t offset, int64_t timestamp_ms,
                         uint64_t bytes) {
  Partition& p = partitions_[tp];
  p.entries.push_back({offset, timestamp_ms, bytes});
  p.bytes += bytes;
}

std::optional<int64_t> RetentionIndex::TrimPoint(const TopicPartition& tp,
                                                 const Retention& retention,
                                                 int64_t now_ms) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return std::nullopt;
  const auto& entries = it->second.entries;
  uint64_t bytes = it->second.bytes;
  const int64_t oldest_kept = now_ms - retention.max_age.count();
  size_t drop = 0;
  while (drop < entries.size()) {
    const Entry& e = entries[drop];
    const bool too_old = retention.max_age.count() > 0 && e.timestamp_ms < oldest_kept;
    const bool too_big = retention.max_bytes > 0 && bytes > retention.max_bytes;
    if (!too_old && !too_big) break;
    bytes -= e.bytes;
    ++drop;
  }
  if (drop == 0) return std::nullopt;
  return drop < entries.size() ? entries[drop].offset : entries.back().offset + 1;
}

void RetentionIndex::DropBefore(const TopicPartition& tp, int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return;
  Partition& p = it->second;
  while (!p.entries.empty() && p.entries.front().offset < offset) {
    p.bytes -= p.entries.front().bytes;
    p.entries.pop_front();
  }
}

void RetentionIndex::DropFrom(const TopicPartition& tp, int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return;
  Partition& p = it->second;
  while (!p.entries.empty() && p.entries.back().offset >= offset) {
    p.bytes -= p.entries.back().bytes;
    p.entries.pop_back();
  }
}

uint64_t RetentionIndex::Bytes(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? 0 : it->second.bytes;
}

std::optional<int64_t> RetentionIndex::First(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end() || it->second.entries.empty()) return std::nullopt;
  return it->second.entries.front().offset;
}

}  // namespace sg::queue
