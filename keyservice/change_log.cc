#include "keyservice/change_log.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

namespace sg::keyservice {
namespace {

uint64_t RandomEpoch() {
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof(v)) != 1) std::abort();
  return v == 0 ? 1 : v;  // 0 means "no epoch yet" to callers
}

}  // namespace

ChangeLog::ChangeLog() : epoch_(RandomEpoch()) {}

void ChangeLog::Publish(const std::string& kind, const std::string& subject) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(ChangeEvent{++version_, kind, subject});
    if (events_.size() > kKeep) events_.pop_front();
  }
  cv_.notify_all();
}

Changes ChangeLog::Collect(uint64_t epoch, uint64_t after_version) const {
  Changes out;
  out.epoch = epoch_;
  out.version = version_;
  if (epoch != epoch_ || after_version > version_ ||
      (!events_.empty() && after_version + 1 < events_.front().version)) {
    out.reset = true;
    return out;
  }
  for (auto it = events_.rbegin(); it != events_.rend() && it->version > after_version; ++it) {
    out.events.push_back(*it);
  }
  std::reverse(out.events.begin(), out.events.end());
  return out;
}

Changes ChangeLog::Wait(uint64_t epoch, uint64_t after_version, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, wait, [&] {
    return shutting_down_ || epoch != epoch_ || version_ != after_version;
  });
  return Collect(epoch, after_version);
}

void ChangeLog::WakeAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
}

}  // namespace sg::keyservice
