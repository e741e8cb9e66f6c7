// An in-memory queue::Producer for ingress tests (until/besides the real
// queue): acks from its own thread like a real queue, and can be told to be
// unavailable, to ack late, or to hold acks until released.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/queue.h"

namespace sg::ingress::testing {

class FakeProducer : public queue::Producer {
 public:
  FakeProducer() : thread_([this] { Run(); }) {}
  ~FakeProducer() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Produce(queue::OutRecord record, queue::ProduceCallback done) override {
    std::lock_guard<std::mutex> lock(mu_);
    Pending p{std::move(record), std::move(done),
              std::chrono::steady_clock::now() + ack_delay_, !available_};
    if (hold_) {
      held_.push_back(std::move(p));
    } else {
      pending_.push_back(std::move(p));
      cv_.notify_all();
    }
  }

  Status Flush(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return pending_.empty(); })) {
      return MakeError(ErrorCode::kTimeout, "fake producer flush timed out");
    }
    return OkStatus();
  }

  void SetAvailable(bool available) {
    std::lock_guard<std::mutex> lock(mu_);
    available_ = available;
  }
  void SetAckDelay(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    ack_delay_ = d;
  }
  void SetHold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  // Lets every held record through (stored and acked).
  void ReleaseHeld() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : held_) pending_.push_back(std::move(p));
    held_.clear();
    cv_.notify_all();
  }
  size_t HeldCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  std::vector<queue::OutRecord> Records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  size_t RecordCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_.size();
  }
  // Waits until at least n records are stored.
  bool WaitForRecords(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
  }

 private:
  struct Pending {
    queue::OutRecord record;
    queue::ProduceCallback done;
    std::chrono::steady_clock::time_point due;
    bool fail;
  };

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (stop_) break;
      if (pending_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto due = pending_.front().due;
      if (std::chrono::steady_clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      if (!p.fail) records_.push_back(p.record);
      cv_.notify_all();
      lock.unlock();
      p.done(p.fail ? Status(MakeError(ErrorCode::kUnavailable, "fake queue unavailable"))
                    : OkStatus());
      lock.lock();
    }
    // Records never acked are refused, as a closing queue would.
    for (auto& p : pending_) p.done(MakeError(ErrorCode::kCancelled, "closing"));
    for (auto& p : held_) p.done(MakeError(ErrorCode::kCancelled, "closing"));
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool available_ = true;
  bool hold_ = false;
  std::chrono::milliseconds ack_delay_{0};
  std::deque<Pending> pending_;
  std::deque<Pending> held_;
  std::vector<queue::OutRecord> records_;
  std::thread thread_;
};

}  // namespace sg::ingress::testing
