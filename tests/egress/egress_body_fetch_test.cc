// Egress resolves body references off its loop (egress.body_fetch_threads,
// issue 21): while the queue holds up the read of one message's body (a
// slow Kafka broker), another message is delivered; the held one counts as
// in flight, and is delivered whole once the read answers. A queue that is
// unreachable for a moment means fetching again, not a dead letter.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>

#include "common/config_node.h"
#include "egress/egress_config.h"
#include "egress/egress_service.h"
#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"
#include "tests/support/forwarding_queue.h"

namespace sg::egress::testing {
namespace {

using std::chrono::seconds;

// The harness's queue, with every ReadRecord held at a gate until the test
// opens it, or failing with kUnavailable while `fail_reads` is above 0.
class GatedReadQueue : public sg::testing::ForwardingQueue {
 public:
  explicit GatedReadQueue(queue::Queue& real) : ForwardingQueue(real) {}
  Result<queue::Record> ReadRecord(const queue::RecordRef& ref) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++reads_;
    if (fail_reads_ > 0) {
      --fail_reads_;
      return MakeError(ErrorCode::kUnavailable, "test: broker unreachable");
    }
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
    lock.unlock();
    return real().ReadRecord(ref);
  }

  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void FailReads(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_reads_ = n;
  }
  // Until `n` reads have started, or `timeout`.
  bool WaitForReads(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return reads_ >= n; });
  }
  int waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int fail_reads_ = 0;
  int reads_ = 0;
  int waiting_ = 0;
};

constexpr const char* kDelivered =
    R"(smimegate_egress_deliveries_total{outcome="delivered",route="outbound"})";

class EgressBodyFetchTest : public ::testing::Test {
 protected:
  void TearDown() override {
    gated_.Open();  // a loop or fetcher held at the gate goes on and can stop
    if (service_) service_->Stop();
    service_.reset();
  }

  void Start(int fetch_threads) {
    const std::string yaml =
        "egress:\n  helo_name: gw.test\n  poll_interval: 10ms\n  body_fetch_threads: " +
        std::to_string(fetch_threads) +
        "\n  inbound: {transport: maildir, path: mail/inbound}\n"
        "  outbound: {transport: maildir, path: mail/outbound}\n";
    auto doc = config::ConfigDocument::LoadString(yaml, "t.yaml");
    ASSERT_TRUE(doc.ok());
    auto cfg = ParseEgressConfig(*doc->Root().Map("egress"), h_.dir());
    ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
    EgressDeps deps;
    deps.clock = &h_.clock();
    service_ = std::make_unique<EgressService>(*cfg, gated_, h_.registry(), "", deps);
    auto st = service_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
  }

  // Writes `id`'s message to the inbound topic and a deliver record that
  // refers to it (what a worker writes for a message it passes through).
  void ProduceReference(const std::string& id, const std::string& rcpt) {
    ASSERT_TRUE(h_.queue().EnsureTopics({{"inbound", 1, queue::Retention{}}}).ok());
    auto source = MakeRecord(id, "alice@org.test", {rcpt});
    h_.Produce(source, "inbound");
    auto range = h_.queue().Offsets({"inbound", 0});
    ASSERT_TRUE(range.ok());
    auto carrier = source;
    carrier.clear_message();
    auto* ref = carrier.mutable_body_ref();
    ref->set_topic("inbound");
    ref->set_partition(0);
    ref->set_offset(range->high - 1);
    ref->set_length(source.message().size());
    h_.Produce(carrier);
  }

  // The text of the one delivered file that holds `needle`, or "".
  std::string Delivered(const std::string& needle) {
    const std::filesystem::path dir = std::filesystem::path(h_.dir()) / "mail/outbound/new";
    if (!std::filesystem::exists(dir)) return "";
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(f.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find(needle) != std::string::npos) return text;
    }
    return "";
  }

  EgressHarness h_;
  GatedReadQueue gated_{h_.queue()};
  std::unique_ptr<EgressService> service_;
};

TEST_F(EgressBodyFetchTest, AHeldBodyReadDoesNotHoldUpAnotherMessage) {
  Start(/*fetch_threads=*/2);
  ProduceReference("m1", "bob@remote.test");
  ASSERT_TRUE(gated_.WaitForReads(1, seconds(10)));
  h_.Produce(MakeRecord("m2", "alice@org.test", {"carol@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return h_.Metric(kDelivered) == 1; }, seconds(10)))
      << "a message waited for another one's body read: egress read it on its loop";
  EXPECT_NE(Delivered("<m2@test>"), "");
  EXPECT_EQ(gated_.waiting(), 1);
  // Still in flight (max_inflight, shutdown and rebalance drains wait for it).
  EXPECT_TRUE(
      WaitUntil([&] { return h_.Metric("smimegate_egress_inflight_records") == 1; }, seconds(10)));
  EXPECT_EQ(Delivered("<m1@test>"), "");

  gated_.Open();
  ASSERT_TRUE(WaitUntil([&] { return h_.Metric(kDelivered) == 2; }, seconds(10)));
  const std::string m1 = Delivered("<m1@test>");
  EXPECT_NE(m1.find("BODY-MARKER"), std::string::npos) << m1;  // the whole body, from inbound
  EXPECT_EQ(h_.Metric(R"(smimegate_egress_body_refs_total{result="resolved"})"), 1);
}

TEST_F(EgressBodyFetchTest, AnUnreachableQueueMeansFetchingAgainNotADeadLetter) {
  gated_.Open();
  gated_.FailReads(1);
  Start(/*fetch_threads=*/1);
  ProduceReference("m1", "bob@remote.test");
  ASSERT_TRUE(WaitUntil(
      [&] { return h_.Metric(R"(smimegate_egress_body_refs_total{result="deferred"})") == 1; },
      seconds(10)));
  h_.clock().Advance(std::chrono::seconds(2));  // past the second before fetching again
  ASSERT_TRUE(WaitUntil([&] { return h_.Metric(kDelivered) == 1; }, seconds(10)));
  EXPECT_NE(Delivered("<m1@test>").find("BODY-MARKER"), std::string::npos);
  EXPECT_EQ(h_.Metric(R"(smimegate_egress_body_refs_total{result="unresolved"})"), 0);
  EXPECT_EQ(h_.Metric(R"(smimegate_egress_body_refs_total{result="resolved"})"), 1);
}

}  // namespace
}  // namespace sg::egress::testing
