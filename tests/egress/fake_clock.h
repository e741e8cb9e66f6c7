// A settable clock for retry and expiry tests.
#pragma once

#include <atomic>

#include "egress/egress_clock.h"

namespace sg::egress::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'800'000'000'000) : now_(now_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sg::egress::testing
