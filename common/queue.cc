#include "common/queue.h"

#include <cstring>
#include <thread>

namespace sg::queue {

std::optional<std::string_view> Record::FindHeader(std::string_view header_key) const {
  for (const auto& h : headers) {
    if (h.key == header_key) return std::string_view(h.value);
  }
  return std::nullopt;
}

Result<Record> Queue::ReadRecord(const RecordRef& ref) {
  SG_ASSIGN_OR_RETURN(auto records, ReadRange({ref.topic, ref.partition}, ref.offset, 1));
  if (records.empty() || records[0].offset != ref.offset) {
    return MakeError(ErrorCode::kNotFound, "queue record " + ref.topic + "/" +
                                               std::to_string(ref.partition) + "@" +
                                               std::to_string(ref.offset) + " is gone");
  }
  return std::move(records[0]);
}

std::vector<Status> Consumer::CommitMany(const std::vector<OffsetCommit>& commits) {
  std::vector<Status> out;
  out.reserve(commits.size());
  for (const auto& [tp, next] : commits) out.push_back(Commit(tp, next));
  return out;
}

namespace {
// Kafka's murmur2 (the Java client's default partitioner), so a key maps to
// the same partition in both queue implementations and in other clients.
uint32_t Murmur2(std::string_view data) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = data.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(len);
  while (len >= 4) {
    uint32_t k;
    std::memcpy(&k, p, 4);  // little-endian, as the Java implementation reads it
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
    p += 4;
    len -= 4;
  }
  switch (len) {
    case 3: h ^= static_cast<uint32_t>(p[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(p[1]) << 8; [[fallthrough]];
    case 1:
      h ^= p[0];
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}
}  // namespace

void CloseAll(const std::vector<Consumer*>& consumers) {
  std::vector<std::thread> closing;
  for (Consumer* c : consumers) {
    if (c != nullptr) closing.emplace_back([c] { c->Close(); });
  }
  for (auto& t : closing) t.join();
}

int32_t PartitionForKey(std::string_view key, int32_t partitions) {
  if (partitions <= 1) return 0;
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

}  // namespace sg::queue
