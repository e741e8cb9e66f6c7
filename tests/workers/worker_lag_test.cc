// The lag metric of the worker stage (issue 24): each process exports
// smimegate_queue_consumer_lag_records only for the partitions its consumers
// own, so summing over pods counts every partition once, and a partition
// rebalanced away leaves the exposition of the process that lost it.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "common/queue_config.h"
#include "tests/support/temp_dir.h"
#include "workers/message_processor.h"
#include "workers/worker_pool.h"

namespace sg::workers {
namespace {

using namespace std::chrono_literals;

// Every record waits for a dependency that is down: nothing is committed,
// so the lag stays what was produced.
class WaitingProcessor : public MessageProcessor {
 public:
  Result<std::vector<smimegate::v1::MessageRecord>> Process(smimegate::v1::MessageRecord) override {
    return MakeError(ErrorCode::kUnavailable, "keyservice down (test)");
  }
};

// The lag series of a registry: "topic/partition" -> value.
std::map<std::string, double> LagSeries(const metrics::Registry& registry) {
  std::map<std::string, double> out;
  std::istringstream in(registry.Serialize());
  const std::string prefix =
      R"(smimegate_queue_consumer_lag_records{group="smimegate-workers",topic=")";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t topic_end = line.find('"', prefix.size());
    const size_t part = line.find("partition=\"", topic_end) + 11;
    const size_t part_end = line.find('"', part);
    out[line.substr(prefix.size(), topic_end - prefix.size()) + "/" +
        line.substr(part, part_end - part)] = std::stod(line.substr(line.rfind(' ') + 1));
  }
  return out;
}

double Sum(const std::map<std::string, double>& series) {
  double n = 0;
  for (const auto& [k, v] : series) n += v;
  return n;
}

class WorkerLagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue::EmbeddedQueueOptions opts;
    opts.path = dir_.Sub("queue");
    opts.sync = false;
    auto q = queue::EmbeddedQueue::Open(opts);
    ASSERT_TRUE(q.ok());
    queue_ = std::move(*q);
    qc_.partitions = 2;  // inbound and outbound: four partitions in all
    ASSERT_TRUE(queue_->EnsureTopics(qc_.PipelineTopics()).ok());
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    for (int i = 0; i < 6; ++i) {
      smimegate::v1::MessageRecord rec;
      rec.mutable_envelope()->set_message_id("m" + std::to_string(i));
      rec.set_message("Subject: x\r\n\r\nbody\r\n");
      std::promise<Status> done;
      (*p)->Produce({i % 2 == 0 ? "inbound" : "outbound",
                     "m" + std::to_string(i),
                     {},
                     rec.SerializeAsString(),
                     std::nullopt},
                    [&done](const Status& st) { done.set_value(st); });
      ASSERT_TRUE(done.get_future().get().ok());
    }
  }
  std::unique_ptr<WorkerPool> Pool(metrics::Registry& registry) {
    WorkerConfig wc;
    wc.threads = 1;
    wc.lag_interval = 20ms;
    return std::make_unique<WorkerPool>(wc, qc_, *queue_, processor_, registry);
  }
  // Waits until `done` holds for the two pods' series (at most 10 s).
  template <typename F>
  bool Await(const metrics::Registry& a, const metrics::Registry& b, F done) {
    for (int i = 0; i < 500; ++i) {
      if (done(LagSeries(a), LagSeries(b))) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  sg::testing::TempDir dir_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  queue::QueueConfig qc_;
  WaitingProcessor processor_;
};

TEST_F(WorkerLagTest, EachPodExportsOnlyThePartitionsItOwns) {
  metrics::Registry reg_a, reg_b;
  auto a = Pool(reg_a);
  ASSERT_TRUE(a->Start().ok());
  // Alone, pod A owns every partition: all six records are its lag.
  EXPECT_TRUE(Await(reg_a, reg_b, [](const auto& sa, const auto& sb) {
    return sa.size() == 4 && Sum(sa) == 6 && sb.empty();
  })) << reg_a.Serialize();

  // Pod B joins: each exports its own share, no partition twice, and the
  // sum over pods is still the group's lag.
  auto b = Pool(reg_b);
  ASSERT_TRUE(b->Start().ok());
  EXPECT_TRUE(Await(reg_a, reg_b,
                    [](const auto& sa, const auto& sb) {
                      if (sa.empty() || sb.empty() || sa.size() + sb.size() != 4) return false;
                      for (const auto& [k, v] : sa) {
                        if (sb.count(k)) return false;
                      }
                      return Sum(sa) + Sum(sb) == 6;
                    }))
      << "A:\n"
      << reg_a.Serialize() << "B:\n"
      << reg_b.Serialize();

  // Pod B stops: its series are gone, pod A has every partition back.
  b->Stop();
  EXPECT_TRUE(Await(
      reg_a, reg_b,
      [](const auto& sa, const auto& sb) { return sa.size() == 4 && Sum(sa) == 6 && sb.empty(); }))
      << "A:\n"
      << reg_a.Serialize() << "B:\n"
      << reg_b.Serialize();
  a->Stop();
  EXPECT_TRUE(LagSeries(reg_a).empty());
}

}  // namespace
}  // namespace sg::workers
