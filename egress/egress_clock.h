// Wall clock for egress scheduling (retry due times, expiry, queue age).
//
// Injected through constructors so retry and expiry logic is tested with a
// fake clock (tests/egress/fake_clock.h), never with sleeps.
//
// Threading: implementations must be callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace sg::egress {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace sg::egress
