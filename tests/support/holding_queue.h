// A queue whose producers hold every produce callback until the test fires
// it (or never): acknowledgements that come late, after the caller gave up
// or is gone. Consumers are those of a real queue.
//
// Threading: every method from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/queue.h"

namespace sg::testing {

// Produce callbacks the test fires when it wants (or never).
class HeldCallbacks {
 public:
  void Hold(queue::OutRecord r, queue::ProduceCallback cb) {
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back(std::move(r));
    held_.push_back(std::move(cb));
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // Fires callbacks [from, to) with `st`.
  void Fire(size_t from, size_t to, const Status& st) {
    std::vector<queue::ProduceCallback> fire;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = from; i < to && i < held_.size(); ++i) fire.push_back(std::move(held_[i]));
    }
    for (auto& cb : fire) {
      if (cb) cb(st);
    }
  }
  size_t Unfired() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& cb : held_) n += cb ? 1 : 0;
    return n;
  }
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Count() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::vector<queue::OutRecord> records_;
  std::vector<queue::ProduceCallback> held_;
};

class HoldingProducer : public queue::Producer {
 public:
  explicit HoldingProducer(HeldCallbacks& held) : held_(held) {}
  void Produce(queue::OutRecord record, queue::ProduceCallback done) override {
    held_.Hold(std::move(record), std::move(done));
  }
  // Times out while a callback is held, as a queue that cannot write would.
  Status Flush(std::chrono::milliseconds) override {
    return held_.Unfired() == 0 ? OkStatus()
                                : MakeError(ErrorCode::kTimeout, "held produce callbacks");
  }

 private:
  HeldCallbacks& held_;
};

// Consumers of the real queue, producers that hold their callbacks.
class HoldingQueue : public queue::Queue {
 public:
  HoldingQueue(queue::Queue& real, HeldCallbacks& held) : real_(real), held_(held) {}
  Status EnsureTopics(const std::vector<queue::TopicSpec>& t) override {
    return real_.EnsureTopics(t);
  }
  Result<std::unique_ptr<queue::Producer>> CreateProducer() override {
    return std::unique_ptr<queue::Producer>(new HoldingProducer(held_));
  }
  Result<std::unique_ptr<queue::Consumer>> CreateConsumer(
      const std::string& g, const std::vector<std::string>& t) override {
    return real_.CreateConsumer(g, t);
  }
  Result<int32_t> PartitionCount(const std::string& t) override { return real_.PartitionCount(t); }
  Result<queue::OffsetRange> Offsets(const queue::TopicPartition& tp) override { return real_.Offsets(tp); }
  Result<std::vector<queue::Record>> ReadRange(const queue::TopicPartition& tp, int64_t from,
                                          size_t max) override {
    return real_.ReadRange(tp, from, max);
  }
  Status DeleteBefore(const queue::TopicPartition& tp, int64_t offset) override {
    return real_.DeleteBefore(tp, offset);
  }

 private:
  queue::Queue& real_;
  HeldCallbacks& held_;
};

}  // namespace sg::testing
