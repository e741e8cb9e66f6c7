// WorkerPool against an embedded queue whose producer is scripted by the
// test: acknowledgements that arrive after the batch gave up waiting for
// them (issue 13 point 8). Run under ASan (build-asan) the old stack-owned
// waiter is a stack-use-after-return here; in every build the late acks
// must be harmless and the record is still processed exactly as if they
// had never come.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "common/embedded_queue.h"
#include "common/queue_config.h"
#include "workers/message_processor.h"
#include "workers/worker_pool.h"
#include "tests/support/holding_queue.h"
#include "tests/support/temp_dir.h"

namespace sg::workers {
namespace {

using namespace std::chrono_literals;
using sg::testing::HeldCallbacks;
using sg::testing::HoldingQueue;

TEST(WorkerPoolTest, AcksThatArriveAfterTheBatchGaveUpAreHarmless) {
  sg::testing::TempDir dir;
  queue::EmbeddedQueueOptions opts;
  opts.path = dir.Sub("queue");
  opts.sync = false;
  auto q = queue::EmbeddedQueue::Open(opts);
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  queue::QueueConfig qc;
  qc.partitions = 1;
  ASSERT_TRUE((*q)->EnsureTopics(qc.PipelineTopics()).ok());

  smimegate::v1::MessageRecord rec;
  rec.mutable_envelope()->set_message_id("m1");
  rec.mutable_envelope()->set_mail_from("alice@example.com");
  rec.mutable_envelope()->add_recipients()->set_address("bob@example.org");
  rec.set_message("Subject: x\r\n\r\nbody\r\n");
  {
    auto p = (*q)->CreateProducer();
    ASSERT_TRUE(p.ok());
    std::promise<Status> done;
    (*p)->Produce({"outbound", "m1", {}, rec.SerializeAsString(), std::nullopt},
                  [&done](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  HeldCallbacks held;
  HoldingQueue holding(**q, held);
  PassThroughProcessor processor;
  metrics::Registry registry;
  WorkerConfig wc;
  wc.threads = 1;
  wc.ack_timeout = 50ms;
  auto pool = std::make_unique<WorkerPool>(wc, qc, holding, processor, registry);
  ASSERT_TRUE(pool->Start().ok());

  // The first batch publishes, waits 50 ms, gives up; the record is read
  // again and published a second time: the first batch's frame is gone.
  ASSERT_TRUE(held.WaitForCount(2, 10s));
  // Its ack arrives now, late (and a failure, for good measure).
  held.Fire(0, 1, MakeError(ErrorCode::kTimeout, "late"));
  // Every later attempt is acknowledged as it should be.
  const size_t seen = held.Count();
  held.Fire(1, seen, OkStatus());
  // The attempt in flight when we fired may still be waiting: answer the rest.
  std::atomic<bool> stop{false};
  std::thread acker([&] {
    size_t fired = seen;
    while (!stop.load()) {
      size_t n = held.Count();
      if (n > fired) {
        held.Fire(fired, n, OkStatus());
        fired = n;
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  // Once an attempt is fully acknowledged the batch commits and the record
  // is not read again: the number of attempts stops growing.
  size_t last = 0;
  int stable = 0;
  for (int i = 0; i < 100 && stable < 15; ++i) {
    std::this_thread::sleep_for(100ms);
    size_t n = held.Count();
    stable = n == last ? stable + 1 : 0;
    last = n;
  }
  pool->Stop();
  stop = true;
  acker.join();
  pool.reset();
  // Nothing is left for the group: the record was committed.
  auto c = (*q)->CreateConsumer(wc.group, {"outbound", "inbound"});
  ASSERT_TRUE(c.ok());
  auto polled = (*c)->Poll(10, 50ms);
  ASSERT_TRUE(polled.ok());
  EXPECT_TRUE(polled->empty());
  (*c)->Close();
}

}  // namespace
}  // namespace sg::workers
