// FakeClock: an sg::Clock (common/clock.h) for tests. It starts at a given
// time and moves only when told.
//
// Threading: Now(), Advance() and Set() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace sg::testing {

class FakeClock final : public Clock {
 public:
  // 2027-01-15 08:00 UTC, a fixed time for tests that need no particular one.
  static constexpr int64_t kDefaultStartMs = 1'800'000'000'000;

  FakeClock() : FakeClock(kDefaultStartMs) {}
  explicit FakeClock(int64_t start_unix_ms) : FakeClock(Point(std::chrono::milliseconds(start_unix_ms))) {}
  explicit FakeClock(std::chrono::system_clock::time_point start) : now_(start.time_since_epoch()) {}

  std::chrono::system_clock::time_point Now() const override { return Point(now_.load()); }
  void Advance(std::chrono::system_clock::duration d) { now_.store(now_.load() + d); }
  void AdvanceMs(int64_t ms) { Advance(std::chrono::milliseconds(ms)); }
  void SetMs(int64_t unix_ms) { now_.store(std::chrono::milliseconds(unix_ms)); }

 private:
  using Point = std::chrono::system_clock::time_point;
  std::atomic<std::chrono::system_clock::duration> now_;
};

}  // namespace sg::testing
