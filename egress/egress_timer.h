// One-shot timers for the SMTP client's deadlines (connect, each reply,
// each block of message data).
//
// Production uses libuv timers on the egress loop (UvTimers). Tests inject
// fake timers driven by a fake clock (tests/egress/fake_timers.h), so the
// deadline of every stage is checked without waiting for it.
//
// Threading: loop thread only. Ownership: the caller owns each Timer; a
// destroyed or stopped timer never fires.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace sg::egress {

class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)starts the timer: `fire` runs once, `after` from now, unless
  // stopped or restarted first.
  virtual void Start(std::chrono::milliseconds after, std::function<void()> fire) = 0;
  virtual void Stop() = 0;
};

class Timers {
 public:
  virtual ~Timers() = default;
  virtual std::unique_ptr<Timer> Create() = 0;
};

// libuv timers of `loop`; the handles close themselves when their Timer goes.
class UvTimers final : public Timers {
 public:
  explicit UvTimers(uv_loop_t* loop) : loop_(loop) {}
  std::unique_ptr<Timer> Create() override;

 private:
  uv_loop_t* loop_;
};

// "300 s", "250 ms": for timeout messages.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace sg::egress
