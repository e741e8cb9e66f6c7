// A portal::Clock the test moves by hand (no sleeps for time logic).
// Replace with tests/support's FakeClock once the one sg::Clock of
// common/clock.h is on main (issue 16).
#pragma once

#include <atomic>
#include <cstdint>

#include "portal/portal_clock.h"

namespace sg::portal::testing {

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace sg::portal::testing
