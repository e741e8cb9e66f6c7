// The wall clock of the keyservice, injected so that issuance, expiry and
// rollover are tested with a fake clock instead of sleeps.
//
// Threading: Now() is called from any thread.
#pragma once

#include <atomic>
#include <chrono>

namespace sg::keyservice {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

// For tests: starts at a given time, moves only when told.
class FakeClock : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start) : now_(start.time_since_epoch()) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(now_.load());
  }
  void Advance(std::chrono::system_clock::duration d) { now_.store(now_.load() + d); }

 private:
  std::atomic<std::chrono::system_clock::duration> now_;
};

inline int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace sg::keyservice
