// ChangeLog: the change events workers' caches follow (docs/keyservice.md).
//
// Every write to the store publishes an event with a new version number.
// The last kKeep events are kept in memory; a caller asking from an older
// version, or from another epoch (the keyservice restarted: the epoch is
// random per start), gets `reset` and drops its whole cache. Versions are
// not persisted on purpose: a restart always resets the caches, which is
// correct and cheap.
//
// Threading: thread-safe; Wait blocks the calling thread up to `wait`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "keyservice/key_service.h"

namespace sg::keyservice {

class ChangeLog {
 public:
  static constexpr size_t kKeep = 4096;
  ChangeLog();

  void Publish(const std::string& kind, const std::string& subject);
  Changes Wait(uint64_t epoch, uint64_t after_version, std::chrono::milliseconds wait);
  // Wakes every waiter (shutdown).
  void WakeAll();
  uint64_t epoch() const { return epoch_; }

 private:
  Changes Collect(uint64_t epoch, uint64_t after_version) const;  // mu_ held
  const uint64_t epoch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t version_ = 0;
  std::deque<ChangeEvent> events_;
  bool shutting_down_ = false;
};

}  // namespace sg::keyservice
