// Timers driven by a fake clock: Advance() fires what is due, in due order,
// so every deadline of the SMTP client is tested without waiting for it.
// Also reports what is armed, so a test can see which stage's deadline runs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include "egress/egress_timer.h"

namespace sg::egress::testing {

class FakeTimers final : public Timers {
 public:
  std::unique_ptr<Timer> Create() override { return std::make_unique<FakeTimer>(this); }

  int64_t now_ms() const { return now_ms_; }
  // Moves the clock and fires every timer due by then.
  void Advance(std::chrono::milliseconds d) {
    const int64_t target = now_ms_ + d.count();
    while (true) {
      FakeTimer* next = nullptr;
      for (FakeTimer* t : timers_) {
        if (t->armed_ && t->due_ <= target && (next == nullptr || t->due_ < next->due_)) next = t;
      }
      if (next == nullptr) break;
      now_ms_ = next->due_;
      next->armed_ = false;
      auto fire = std::move(next->fire_);
      fire();  // may destroy timers
    }
    now_ms_ = target;
  }
  // Durations of the armed timers (as given to Start), longest first.
  std::multiset<int64_t, std::greater<>> Armed() const {
    std::multiset<int64_t, std::greater<>> out;
    for (const FakeTimer* t : timers_) {
      if (t->armed_) out.insert(t->duration_);
    }
    return out;
  }
  bool IsArmed(std::chrono::milliseconds d) const { return Armed().count(d.count()) > 0; }
  // How many times any timer was started.
  uint64_t starts() const { return starts_; }

 private:
  class FakeTimer final : public Timer {
   public:
    explicit FakeTimer(FakeTimers* owner) : owner_(owner) { owner_->timers_.insert(this); }
    ~FakeTimer() override { owner_->timers_.erase(this); }
    void Start(std::chrono::milliseconds after, std::function<void()> fire) override {
      ++owner_->starts_;
      armed_ = true;
      duration_ = after.count();
      due_ = owner_->now_ms_ + after.count();
      fire_ = std::move(fire);
    }
    void Stop() override {
      armed_ = false;
      fire_ = nullptr;
    }

    FakeTimers* owner_;
    bool armed_ = false;
    int64_t duration_ = 0;
    int64_t due_ = 0;
    std::function<void()> fire_;
    friend class FakeTimers;
  };

  int64_t now_ms_ = 0;
  uint64_t starts_ = 0;
  std::set<FakeTimer*> timers_;
};

}  // namespace sg::egress::testing
