// The egress service against a queue whose acknowledgements come late:
// after Stop gave up flushing, and after the service is destroyed (issue 13
// point 8, the same pattern as the workers' AckWaiter). Under ASan the old
// code (callbacks holding the service) is a heap-use-after-free here.
#include <gtest/gtest.h>

#include <future>

#include "common/config_node.h"
#include "common/embedded_queue.h"
#include "egress/egress_config.h"
#include "egress/egress_service.h"
#include "tests/support/holding_queue.h"
#include "tests/support/temp_dir.h"

namespace sg::egress {
namespace {

using namespace std::chrono_literals;

TEST(EgressLifetimeTest, ProduceCallbacksAfterTheServiceIsGoneDoNothing) {
  sg::testing::TempDir dir;
  queue::EmbeddedQueueOptions opts;
  opts.path = dir.Sub("queue");
  opts.sync = false;
  auto q = queue::EmbeddedQueue::Open(opts);
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  ASSERT_TRUE((*q)->EnsureTopics({{"deliver", 1}, {"retry", 1}, {"deadletter", 1}}).ok());
  {
    auto p = (*q)->CreateProducer();
    ASSERT_TRUE(p.ok());
    std::promise<Status> done;
    // Not a MessageRecord: egress dead-letters it, which is a produce.
    (*p)->Produce({"deliver", "k", {}, std::string("\xff\xff\xff", 3), std::nullopt},
                  [&done](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  auto doc = config::ConfigDocument::LoadString(
      "egress: {poll_interval: 5ms, shutdown_timeout: 100ms, inbound: {transport: maildir},"
      " outbound: {transport: maildir}}\n", "t.yaml");
  ASSERT_TRUE(doc.ok());
  auto cfg = ParseEgressConfig(*doc->Root().Map("egress"), dir.path());
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();

  sg::testing::HeldCallbacks held;
  sg::testing::HoldingQueue holding(**q, held);
  metrics::Registry registry;
  auto service = std::make_unique<EgressService>(*cfg, holding, registry);
  ASSERT_TRUE(service->Start().ok());
  ASSERT_TRUE(held.WaitForCount(1, 10s));
  service->Stop();  // the flush times out: the callback is still held
  service.reset();
  held.Fire(0, held.Count(), OkStatus());  // must not touch the destroyed service
}

}  // namespace
}  // namespace sg::egress
