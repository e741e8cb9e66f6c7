// The set-up the Kafka-mode queue tests share: the test broker as a child
// process (kafka_broker_process.h) with the given topics, a KafkaQueue on it
// and one producer. The session timeout is 6 s, so a group notices a member
// that went away within seconds instead of librdkafka's default 45 s.
// Needs SMIMEGATE_TEST_BROKER (the broker binary's path) from the test
// target, and a gtest test body: check ok() first, the constructor reports
// with ADD_FAILURE what did not start.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/kafka_queue.h"
#include "tests/support/kafka_broker_process.h"

namespace sg::testing {

class KafkaTestQueue {
 public:
  explicit KafkaTestQueue(const std::vector<std::pair<std::string, int>>& topics,
                          const std::string& static_member_name = "")
      : broker_(SMIMEGATE_TEST_BROKER, topics) {
    if (!broker_.ok()) {
      ADD_FAILURE() << "the test broker did not start";
      return;
    }
    queue::KafkaQueueOptions o;
    o.brokers = broker_.bootstrap();
    o.session_timeout = std::chrono::milliseconds(6000);
    o.static_member_name = static_member_name;
    auto q = queue::KafkaQueue::Open(o);
    if (!q.ok()) {
      ADD_FAILURE() << "KafkaQueue::Open: " << q.error().ToString();
      return;
    }
    auto p = (*q)->CreateProducer();
    if (!p.ok()) {
      ADD_FAILURE() << "CreateProducer: " << p.error().ToString();
      return;
    }
    queue_ = std::move(*q);
    producer_ = std::move(*p);
  }

  bool ok() const { return producer_ != nullptr; }
  KafkaBrokerProcess& broker() { return broker_; }
  queue::KafkaQueue& queue() { return *queue_; }
  queue::Producer& producer() { return *producer_; }

  // Records [from, to) to `topic`, keys "k<i>", each with `value`; returns
  // once the broker acknowledged every one, failing on the first error.
  ::testing::AssertionResult ProduceAll(const std::string& topic, int from, int to,
                                        const std::string& value) {
    std::vector<std::promise<Status>> acks(static_cast<size_t>(to - from));
    for (int i = from; i < to; ++i) {
      auto* ack = &acks[static_cast<size_t>(i - from)];
      producer_->Produce({topic, "k" + std::to_string(i), {}, value, std::nullopt},
                         [ack](Status s) { ack->set_value(std::move(s)); });
    }
    for (auto& a : acks) {
      Status s = a.get_future().get();
      if (!s.ok()) return ::testing::AssertionFailure() << "produce to " << topic << ": " << s.error().ToString();
    }
    return ::testing::AssertionSuccess();
  }

 private:
  KafkaBrokerProcess broker_;
  std::unique_ptr<queue::KafkaQueue> queue_;  // destroyed before the broker
  std::unique_ptr<queue::Producer> producer_;
};

}  // namespace sg::testing
