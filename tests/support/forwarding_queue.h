// A queue that passes every call to a real one: the base of test decorators
// that change one behaviour (hold reads, refuse commits) and keep the rest.
//
// Threading: as the real queue's. Ownership: the real queue outlives this.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/queue.h"

namespace sg::testing {

class ForwardingQueue : public queue::Queue {
 public:
  explicit ForwardingQueue(queue::Queue& real) : real_(real) {}

  Status EnsureTopics(const std::vector<queue::TopicSpec>& t) override {
    return real_.EnsureTopics(t);
  }
  Result<std::unique_ptr<queue::Producer>> CreateProducer() override {
    return real_.CreateProducer();
  }
  Result<std::unique_ptr<queue::Consumer>> CreateConsumer(
      const std::string& group, const std::vector<std::string>& topics) override {
    return real_.CreateConsumer(group, topics);
  }
  Result<int32_t> PartitionCount(const std::string& t) override { return real_.PartitionCount(t); }
  Result<queue::OffsetRange> Offsets(const queue::TopicPartition& tp) override {
    return real_.Offsets(tp);
  }
  Result<std::vector<queue::Record>> ReadRange(const queue::TopicPartition& tp, int64_t from,
                                               size_t max) override {
    return real_.ReadRange(tp, from, max);
  }
  Status DeleteBefore(const queue::TopicPartition& tp, int64_t offset) override {
    return real_.DeleteBefore(tp, offset);
  }
  bool SupportsPins() const override { return real_.SupportsPins(); }
  Result<queue::Record> ReadRecord(const queue::RecordRef& ref) override {
    return real_.ReadRecord(ref);
  }

 protected:
  queue::Queue& real() { return real_; }

 private:
  queue::Queue& real_;
};

}  // namespace sg::testing
