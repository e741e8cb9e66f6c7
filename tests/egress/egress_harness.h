// Test fixture pieces shared by the egress integration tests: an embedded
// queue in a temp dir, an EgressService built from YAML, records in and
// out of topics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "egress/egress_dns.h"
#include "egress/egress_service.h"
#include "proto/envelope.pb.h"
#include "tests/support/fake_clock.h"
#include "tests/support/kafka_broker_process.h"
#include "tests/support/temp_dir.h"

namespace sg::egress::testing {

using sg::testing::FakeClock;

class EgressHarness {
 public:
  explicit EgressHarness(bool sync = false);
  // On a Kafka queue instead: a test broker (binary `kafka_broker`) of its
  // own, started here with the egress topics.
  explicit EgressHarness(const std::string& kafka_broker);
  ~EgressHarness();

  const std::string& dir() const { return dir_.path(); }
  queue::Queue& queue() { return *queue_; }
  metrics::Registry& registry() { return registry_; }
  FakeClock& clock() { return clock_; }
  // The running service (after Start).
  EgressService& service() { return *service_; }

  // The queue Start gives egress instead of queue() (a decorator of it, for
  // tests that make the queue misbehave); the caller keeps it alive.
  void UseQueue(queue::Queue& q) { service_queue_ = &q; }
  // Parses `yaml` (a document with an egress: section) and starts egress.
  // The fake clock is used unless real_clock.
  void Start(const std::string& yaml, bool real_clock = false);
  void Stop();
  // Another egress process on the same queue and groups (a second pod), with
  // its own data directory `data_dir` and metrics, on the fake clock; the
  // caller stops it. Null (and a test failure) when it does not start.
  std::unique_ptr<EgressService> StartAnother(const std::string& yaml, const std::string& data_dir,
                                              metrics::Registry& registry);

  void Produce(const smimegate::v1::MessageRecord& rec, const std::string& topic = "deliver");
  // Every record of `topic` so far, read by a private consumer group.
  std::vector<queue::Record> ReadAll(const std::string& topic);
  // Value of a metric sample line ("smimegate_egress_deliveries_total{outcome=\"delivered\",route=\"outbound\"}").
  double Metric(const std::string& sample);

 private:
  void OpenProducer();

  sg::testing::TempDir dir_;
  std::unique_ptr<sg::testing::KafkaBrokerProcess> broker_;
  std::unique_ptr<queue::Queue> queue_;
  queue::Queue* service_queue_ = nullptr;  // UseQueue; queue_ when null
  std::unique_ptr<queue::Producer> producer_;
  metrics::Registry registry_;
  FakeClock clock_;
  std::unique_ptr<EgressService> service_;
  int reader_seq_ = 0;
};

// A message record with one or more recipients and a Message-ID header.
smimegate::v1::MessageRecord MakeRecord(const std::string& id, const std::string& from,
                                        const std::vector<std::string>& rcpts,
                                        smimegate::v1::Direction dir = smimegate::v1::DIRECTION_OUTBOUND);

}  // namespace sg::egress::testing
