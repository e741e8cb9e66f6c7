#include "common/embedded_queue_pins.h"

#include <algorithm>
#include <tuple>

#include "common/big_endian.h"

namespace sg::queue {

namespace {
constexpr std::string_view kHolderPrefix("h\0", 2);
}  // namespace

std::string PinTable::HolderKey(const RecordRef& holder) {
  std::string k(kHolderPrefix);
  k += holder.topic;
  k.push_back('\0');
  PutU32BE(k, static_cast<uint32_t>(holder.partition));
  PutU64BE(k, static_cast<uint64_t>(holder.offset));
  return k;
}

bool PinTable::IsHolderKey(std::string_view key) {
  return key.size() >= kHolderPrefix.size() + 13 && key.substr(0, 2) == kHolderPrefix;
}

std::string PinTable::EncodeRefs(const std::vector<RecordRef>& refs) {
  std::string v;
  for (const auto& r : refs) {
    PutU32BE(v, static_cast<uint32_t>(r.topic.size()));
    v += r.topic;
    PutU32BE(v, static_cast<uint32_t>(r.partition));
    PutU64BE(v, static_cast<uint64_t>(r.offset));
  }
  return v;
}

bool PinTable::Load(std::string_view key, std::string_view value) {
  if (!IsHolderKey(key) || key[key.size() - 13] != '\0') return false;
  RecordRef holder;
  holder.topic.assign(key.substr(2, key.size() - 2 - 13));
  holder.partition = static_cast<int32_t>(GetU32BE(key.data() + key.size() - 12));
  holder.offset = static_cast<int64_t>(GetU64BE(key.data() + key.size() - 8));
  std::vector<RecordRef> refs;
  size_t pos = 0;
  while (pos < value.size()) {
    if (value.size() - pos < 4) return false;
    const uint32_t len = GetU32BE(value.data() + pos);
    pos += 4;
    if (value.size() - pos < static_cast<size_t>(len) + 12) return false;
    RecordRef r;
    r.topic.assign(value.substr(pos, len));
    pos += len;
    r.partition = static_cast<int32_t>(GetU32BE(value.data() + pos));
    r.offset = static_cast<int64_t>(GetU64BE(value.data() + pos + 4));
    pos += 12;
    refs.push_back(std::move(r));
  }
  Add(holder, refs);
  return true;
}

bool PinTable::Pinnable(const RecordRef& ref) const {
  const TopicPartition tp{ref.topic, ref.partition};
  auto t = trimmed_.find(tp);
  if (t == trimmed_.end() || ref.offset >= t->second) return true;
  auto p = pinned_.find(tp);
  return p != pinned_.end() && p->second.count(ref.offset) > 0;
}

void PinTable::Add(const RecordRef& holder, const std::vector<RecordRef>& refs) {
  for (const auto& r : refs) ++pinned_[{r.topic, r.partition}][r.offset];
  auto& held = holders_[{holder.topic, holder.partition}][holder.offset];
  held.insert(held.end(), refs.begin(), refs.end());
}

void PinTable::Unpin(const RecordRef& ref) {
  auto p = pinned_.find({ref.topic, ref.partition});
  if (p == pinned_.end()) return;
  auto c = p->second.find(ref.offset);
  if (c != p->second.end() && --c->second <= 0) p->second.erase(c);
  if (p->second.empty()) pinned_.erase(p);
}

void PinTable::Remove(const RecordRef& holder) {
  auto h = holders_.find({holder.topic, holder.partition});
  if (h == holders_.end()) return;
  auto it = h->second.find(holder.offset);
  if (it == h->second.end()) return;
  for (const auto& r : it->second) Unpin(r);
  h->second.erase(it);
  if (h->second.empty()) holders_.erase(h);
}

PinTable::TrimPlan PinTable::PlanTrim(const TopicPartition& tp, int64_t upto) const {
  TrimPlan plan;
  plan.tp = tp;
  plan.upto = upto;
  // Pins that go with the holders being removed.
  std::map<RecordRef, int32_t, bool (*)(const RecordRef&, const RecordRef&)> released(
      [](const RecordRef& a, const RecordRef& b) {
        return std::tie(a.topic, a.partition, a.offset) < std::tie(b.topic, b.partition, b.offset);
      });
  if (auto h = holders_.find(tp); h != holders_.end()) {
    for (auto it = h->second.begin(); it != h->second.end() && it->first < upto; ++it) {
      plan.holders.push_back({tp.topic, tp.partition, it->first});
      for (const auto& r : it->second) ++released[r];
    }
  }
  auto pins_left = [&](const RecordRef& r) {
    auto p = pinned_.find({r.topic, r.partition});
    if (p == pinned_.end()) return 0;
    auto c = p->second.find(r.offset);
    if (c == p->second.end()) return 0;
    auto rel = released.find(r);
    return c->second - (rel == released.end() ? 0 : rel->second);
  };
  for (const auto& [r, n] : released) {
    auto t = trimmed_.find({r.topic, r.partition});
    if (pins_left(r) <= 0 && t != trimmed_.end() && r.offset < t->second) plan.freed.push_back(r);
  }
  auto t = trimmed_.find(tp);
  int64_t from = t == trimmed_.end() ? 0 : t->second;
  if (auto p = pinned_.find(tp); p != pinned_.end()) {
    for (auto it = p->second.lower_bound(from); it != p->second.end() && it->first < upto; ++it) {
      if (pins_left({tp.topic, tp.partition, it->first}) <= 0) continue;
      if (from < it->first) plan.ranges.emplace_back(from, it->first);
      from = it->first + 1;
    }
  }
  if (from < upto) plan.ranges.emplace_back(from, upto);
  return plan;
}

void PinTable::ApplyTrim(const TrimPlan& plan) {
  for (const auto& h : plan.holders) Remove(h);
  auto& t = trimmed_[plan.tp];
  t = std::max(t, plan.upto);
}

size_t PinTable::PinnedRecords(const TopicPartition& tp) const {
  auto p = pinned_.find(tp);
  return p == pinned_.end() ? 0 : p->second.size();
}

}  // namespace sg::queue
