#include "egress/egress_deferred.h"

#include <limits>

#include "common/ascii.h"

namespace sg::egress {

int64_t DeferredSet::DueOf(const Deferred& d) {
  return d.held ? std::numeric_limits<int64_t>::max() : d.rec.delivery().next_attempt_at_ms();
}

void DeferredSet::Add(std::unique_ptr<Deferred> d) {
  const int64_t due = DueOf(*d);
  by_due_.emplace(due, std::move(d));
}

std::unique_ptr<Deferred> DeferredSet::TakeDue(int64_t now) {
  for (auto it = by_due_.begin(); it != by_due_.end() && it->first <= now; ++it) {
    if (it->second->held || it->second->holding) continue;
    auto d = std::move(it->second);
    by_due_.erase(it);
    return d;
  }
  return nullptr;
}

std::vector<Deferred*> DeferredSet::Find(const std::string& message_id) {
  std::vector<Deferred*> out;
  for (auto& [due, d] : by_due_) {
    if (d->rec.envelope().message_id() == message_id) out.push_back(d.get());
  }
  return out;
}

std::unique_ptr<Deferred> DeferredSet::Take(const Deferred* d) {
  for (auto it = by_due_.begin(); it != by_due_.end(); ++it) {
    if (it->second.get() != d) continue;
    auto out = std::move(it->second);
    by_due_.erase(it);
    return out;
  }
  return nullptr;
}

uint32_t DeferredSet::MakeDue(const std::string& domain, int64_t now) {
  const std::string want = AsciiLower(domain);
  std::vector<std::unique_ptr<Deferred>> moved;
  for (auto it = by_due_.begin(); it != by_due_.end();) {
    Deferred& d = *it->second;
    bool match = want.empty();
    for (const auto& r : d.rec.envelope().recipients()) {
      const auto at = r.address().rfind('@');
      match = match || (at != std::string::npos && AsciiLower(r.address().substr(at + 1)) == want);
    }
    if (d.held || d.holding || !match || it->first <= now) {
      ++it;
      continue;
    }
    d.rec.mutable_delivery()->set_next_attempt_at_ms(now);
    moved.push_back(std::move(it->second));
    it = by_due_.erase(it);
  }
  for (auto& d : moved) Add(std::move(d));
  return static_cast<uint32_t>(moved.size());
}

std::vector<const Deferred*> DeferredSet::All() const {
  std::vector<const Deferred*> out;
  out.reserve(by_due_.size());
  for (const auto& [due, d] : by_due_) out.push_back(d.get());
  return out;
}

Deferred* DeferredSet::At(const queue::TopicPartition& tp, int64_t offset) {
  for (auto& [due, d] : by_due_) {
    if (d->offset == offset && d->tp.partition == tp.partition && d->tp.topic == tp.topic) {
      return d.get();
    }
  }
  return nullptr;
}

std::vector<int64_t> DeferredSet::DropPartition(const queue::TopicPartition& tp) {
  std::vector<int64_t> offsets;
  for (auto it = by_due_.begin(); it != by_due_.end();) {
    const Deferred& d = *it->second;
    if (d.tp.partition != tp.partition || d.tp.topic != tp.topic) {
      ++it;
      continue;
    }
    offsets.push_back(d.offset);
    it = by_due_.erase(it);
  }
  return offsets;
}

}  // namespace sg::egress
