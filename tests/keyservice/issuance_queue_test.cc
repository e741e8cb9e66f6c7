// IssuanceQueue (keyservice/issuance_queue.h): a first certificate issued in
// the background. The issuance is a fake that blocks on a latch, refuses or
// fails; time (what is remembered for how long) is a fake clock. The waits
// here are bounded waits for the queue's threads, not time logic.
#include "keyservice/issuance_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

// An issuance that blocks until released (or cancelled), then answers
// `result`; counts its calls per address.
class FakeIssuer {
 public:
  Status Issue(const std::string& address) {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_[address];
    ++running_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_ || cancelled_; });
    --running_;
    if (cancelled_) return MakeError(ErrorCode::kUnavailable, "cancelled");
    return result_;
  }
  void Open(Status result = OkStatus()) {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(result);
    open_ = true;
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool WaitRunning(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return running_ == n; });
  }
  int calls(const std::string& a) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[a];
  }
  int total_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [a, c] : calls_) n += c;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> calls_;
  int running_ = 0;
  bool open_ = false;
  bool cancelled_ = false;
  Status result_ = OkStatus();
};

class IssuanceQueueTest : public ::testing::Test {
 protected:
  void Make() {
    queue_ = std::make_unique<IssuanceQueue>(
        config_, [this](const std::string& a) { return issuer_.Issue(a); },
        [this] {
          cancel_calls_++;
          issuer_.Cancel();
        },
        clock_, registry_);
  }
  bool WaitIdle() {
    for (int i = 0; i < 1000 && queue_->pending() > 0; ++i) std::this_thread::sleep_for(10ms);
    return queue_->pending() == 0;
  }
  double Requests(const std::string& result) {
    return registry_.AddCounter("smimegate_keyservice_issuance_requests_total", "", {"result"})
        .WithLabels({result})
        .Value();
  }
  double Outcomes(const std::string& result) {
    return registry_.AddCounter("smimegate_keyservice_issuance_outcomes_total", "", {"result"})
        .WithLabels({result})
        .Value();
  }
  double GaugeValue(const std::string& name) { return registry_.AddGauge(name, "").Get().Value(); }

  IssuanceConfig config_;
  FakeClock clock_;
  metrics::Registry registry_;
  FakeIssuer issuer_;
  std::atomic<int> cancel_calls_{0};
  std::unique_ptr<IssuanceQueue> queue_;
};

TEST_F(IssuanceQueueTest, ASilentCaAnswersUnavailableAtOnceAndOneRequestPerAddress) {
  config_.answer_within = 50ms;
  Make();
  auto start = std::chrono::steady_clock::now();
  Status first = queue_->Request("bob@example.com");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable) << first.error().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "not held for the CA's timeouts";
  ASSERT_TRUE(issuer_.WaitRunning(1));
  // Further tries while it runs join it: the CA is asked once.
  for (int i = 0; i < 3; ++i) {
    Status again = queue_->Request("bob@example.com");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
  }
  EXPECT_EQ(issuer_.calls("bob@example.com"), 1);
  EXPECT_EQ(Requests("started"), 1);
  EXPECT_EQ(Requests("joined"), 3);
  EXPECT_EQ(GaugeValue("smimegate_keyservice_issuance_running"), 1);
  issuer_.Open();
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Outcomes("ok"), 1);
  EXPECT_EQ(GaugeValue("smimegate_keyservice_issuance_running"), 0);
}

TEST_F(IssuanceQueueTest, AFastIssuanceIsAnsweredWithinAnswerWithin) {
  config_.answer_within = 5s;
  Make();
  issuer_.Open();
  Status s = queue_->Request("bob@example.com");
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  // A success is not remembered: the certificate is in the store.
  EXPECT_TRUE(queue_->Request("bob@example.com").ok());
  EXPECT_EQ(issuer_.calls("bob@example.com"), 2);
}

TEST_F(IssuanceQueueTest, ConcurrencyAndQueueAreBounded) {
  config_.answer_within = 0ms;
  config_.max_concurrent = 2;
  config_.max_queued = 2;
  Make();
  for (const char* a : {"a@x.example", "b@x.example"}) EXPECT_FALSE(queue_->Request(a).ok());
  ASSERT_TRUE(issuer_.WaitRunning(2));
  for (const char* a : {"c@x.example", "d@x.example"}) EXPECT_FALSE(queue_->Request(a).ok());
  EXPECT_EQ(GaugeValue("smimegate_keyservice_issuance_running"), 2);
  EXPECT_EQ(GaugeValue("smimegate_keyservice_issuance_queued"), 2);
  Status full = queue_->Request("e@x.example");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kUnavailable) << "the worker waits, not fails";
  EXPECT_NE(full.error().message.find("keyservice.issuance.max_queued"), std::string::npos);
  EXPECT_EQ(Requests("queue_full"), 1);
  EXPECT_EQ(queue_->pending(), 4u);
  issuer_.Open();
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(issuer_.total_calls(), 4) << "e@ was not queued";
  EXPECT_EQ(GaugeValue("smimegate_keyservice_issuance_queued"), 0);
}

TEST_F(IssuanceQueueTest, ARefusalIsRememberedAndAnsweredAsARefusal) {
  config_.answer_within = 0ms;
  config_.remember_refusal = 10min;
  Make();
  issuer_.Open(MakeError(ErrorCode::kPermissionDenied, "the CA refused the request"));
  Status first = queue_->Request("bob@example.com");
  ASSERT_FALSE(first.ok());
  ASSERT_TRUE(WaitIdle());
  // The worker's next try gets the refusal (delivered unsigned at once),
  // without asking the CA again.
  Status next = queue_->Request("bob@example.com");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::kPermissionDenied) << next.error().ToString();
  EXPECT_EQ(next.error().message, "the CA refused the request");
  EXPECT_EQ(issuer_.calls("bob@example.com"), 1);
  EXPECT_EQ(Requests("remembered"), 1);
  EXPECT_EQ(Outcomes("permission_denied"), 1);
  clock_.Advance(10min);
  EXPECT_FALSE(queue_->Request("bob@example.com").ok());
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(issuer_.calls("bob@example.com"), 2) << "asked again once the memory expired";
}

TEST_F(IssuanceQueueTest, ATransientFailureIsRememberedOnlyForRetryAfter) {
  config_.answer_within = 0ms;
  config_.retry_after = 30s;
  Make();
  issuer_.Open(MakeError(ErrorCode::kUnavailable, "CMP ir: no valid answer from the CA"));
  EXPECT_FALSE(queue_->Request("bob@example.com").ok());
  ASSERT_TRUE(WaitIdle());
  Status next = queue_->Request("bob@example.com");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(issuer_.calls("bob@example.com"), 1) << "no new request within retry_after";
  clock_.Advance(30s);
  EXPECT_FALSE(queue_->Request("bob@example.com").ok());
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(issuer_.calls("bob@example.com"), 2);
}

TEST_F(IssuanceQueueTest, ACallerWaitingWithinAnswerWithinGetsTheRefusal) {
  config_.answer_within = 5s;
  Make();
  std::thread opener([this] {
    ASSERT_TRUE(issuer_.WaitRunning(1));
    issuer_.Open(MakeError(ErrorCode::kPermissionDenied, "refused"));
  });
  Status s = queue_->Request("bob@example.com");
  opener.join();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(IssuanceQueueTest, ShutdownCancelsWhatRunsDropsWhatWaitsAndRefusesNewRequests) {
  config_.answer_within = 0ms;
  config_.max_concurrent = 1;
  Make();
  EXPECT_FALSE(queue_->Request("a@x.example").ok());
  ASSERT_TRUE(issuer_.WaitRunning(1));
  EXPECT_FALSE(queue_->Request("b@x.example").ok());  // queued behind a@
  auto start = std::chrono::steady_clock::now();
  queue_->Shutdown();  // the issuer blocks until cancelled: without cancel this never returns
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(cancel_calls_, 1);
  EXPECT_EQ(issuer_.calls("b@x.example"), 0) << "the queued one was dropped";
  EXPECT_EQ(GaugeValue("smimegate_keyservice_issuance_queued"), 0);
  Status after = queue_->Request("c@x.example");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(Requests("stopping"), 1);
  queue_.reset();  // a second Shutdown (destructor) is harmless
  EXPECT_EQ(cancel_calls_, 1);
}

}  // namespace
}  // namespace sg::keyservice
