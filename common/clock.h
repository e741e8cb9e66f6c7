// sg::Clock: the one wall clock of the product, injected wherever time
// decides behaviour (retry and expiry in egress, certificate validity and
// cache expiry in the keyservice, DSN dates and received-at fallbacks in the
// workers, queue retention), so that this logic is tested with a fake clock
// (tests/support/fake_clock.h), never with sleeps.
//
// Wall time only: every injected caller persists or compares unix
// timestamps. Code that only measures elapsed time or waits for a deadline
// on one thread uses std::chrono::steady_clock directly.
//
// Threading: implementations must be callable from any thread.
// Ownership: a Clock is passed by reference or pointer and outlives its users;
// SystemClock::Instance() lives for the whole process.
#pragma once

#include <chrono>
#include <cstdint>

namespace sg {

inline int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

inline int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Unix time in milliseconds.
  int64_t NowMs() const { return UnixMs(Now()); }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  // The process-wide instance, for defaults ("no clock given: the system clock").
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

}  // namespace sg
