// The portal's clock: link and session expiry, lockouts, retention, TOTP
// steps all read it, so tests drive time with a fake (CONVENTIONS.md: no
// sleeps for time logic).
//
// Threading: implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace sg::portal {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace sg::portal
