// The portal's connection pool (portal/portal_web_pool.h, review R6): the
// per-client connection limit counts under the login limiter's key (an
// IPv6 /64) and refuses only while more than half the workers are busy.
// Each job stands for one connection: it asks Admit() once, reports the
// answer and then holds its worker until the test lets it go.
#include "portal/portal_web_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "portal/portal_limiter.h"

namespace sg::portal {
namespace {

class PoolTest : public ::testing::Test {
 protected:
  // 4 workers, 1 connection per client while under pressure.
  PoolTest() : pool_(std::make_unique<ConnectionPool>(4, 1)), gate_(release_.get_future()) {}
  ~PoolTest() override {
    release_.set_value();
    pool_.reset();
  }

  // Opens a "connection" from `ip`; true when Admit lets it in. An admitted
  // one keeps its worker busy until the test ends; a refused one closes.
  bool Connect(const std::string& ip) {
    auto answer = std::make_shared<std::promise<bool>>();
    auto result = answer->get_future();
    std::shared_future<void> gate = gate_;
    pool_->enqueue([ip, answer, gate] {
      const bool admitted = ConnectionPool::Admit(ip);
      answer->set_value(admitted);
      if (admitted) gate.wait();
    });
    return result.get();
  }

  std::promise<void> release_;
  std::unique_ptr<ConnectionPool> pool_;
  std::shared_future<void> gate_;
};

TEST_F(PoolTest, ReadersBehindOneAddressAreNotRefusedInNormalLoad) {
  // Two readers behind one NAT address: 2 of 4 workers busy is not pressure.
  EXPECT_TRUE(Connect("198.51.100.7"));
  EXPECT_TRUE(Connect("198.51.100.7"));
  EXPECT_EQ(pool_->Connections("198.51.100.7"), 2u);
  EXPECT_EQ(pool_->Busy(), 2u);
}

TEST_F(PoolTest, UnderPressureAClientOverItsShareIsRefusedPerSlash64) {
  EXPECT_TRUE(Connect("2001:db8:1:2::a"));
  EXPECT_TRUE(Connect("192.0.2.1"));
  // A third busy worker is more than half: a client at its limit is
  // refused, also from another address of the same IPv6 /64 ...
  EXPECT_FALSE(Connect("2001:db8:1:2::b"));
  EXPECT_EQ(pool_->Connections("2001:db8:1:2:ffff::1"), 1u);
  EXPECT_EQ(LoginLimiter::ClientKey("2001:db8:1:2::b"), LoginLimiter::ClientKey("2001:db8:1:2::a"));
  // ... while a client without a connection still gets in.
  EXPECT_TRUE(Connect("2001:db8:9::1"));
  // An IPv4 client seen IPv4-mapped on a dual-stack socket is the same client.
  EXPECT_FALSE(Connect("::ffff:192.0.2.1"));
}

TEST_F(PoolTest, ARefusedOrEndedConnectionFreesItsWorker) {
  // A job that never calls Admit (a connection that never sent a request)
  // still counts as a busy worker while it runs, and not after.
  std::promise<void> done;
  pool_->enqueue([&done] { done.set_value(); });
  done.get_future().wait();
  for (int i = 0; i < 200 && pool_->Busy() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // bounded: the worker's bookkeeping
  }
  EXPECT_EQ(pool_->Busy(), 0u);
}

}  // namespace
}  // namespace sg::portal
