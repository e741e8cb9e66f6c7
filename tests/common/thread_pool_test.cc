// ThreadPool (common/thread_pool.h): jobs run on the pool's threads, the
// queue is bounded, Stop runs or drops what waits as asked, and a job that
// throws aborts loudly. Jobs are held with gates, never with sleeps.
#include "common/thread_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/thread_gate.h"

namespace sg {
namespace {

using ::sg::testing::ThreadGate;

void AwaitStopping(const ThreadPool& pool) {
  while (!pool.Stopping()) std::this_thread::yield();
}

TEST(ThreadPoolTest, RunsEveryJobInOrderOnANamedPoolThread) {
  std::mutex mu;
  std::vector<int> order;
  std::string name;
  std::thread::id ran_on;
  {
    ThreadPool pool({"sg-test-pool", 1, ThreadPool::kUnbounded});
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(pool.Post([&, i] {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
        if (i == 0) {
          std::array<char, 16> buf{};
          pthread_getname_np(pthread_self(), buf.data(), buf.size());
          name = buf.data();
          ran_on = std::this_thread::get_id();
        }
      }));
    }
    pool.Stop(ThreadPool::StopMode::kRunQueued);
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(name, "sg-test-pool");
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(ThreadPoolTest, RunsJobsOnNThreadsAtOnce) {
  // Three jobs that each wait for all three to have started: only three
  // threads running at once get them all past the gate.
  ThreadGate gate;
  std::atomic<int> done{0};
  ThreadPool pool({"sg-test-pool", 3, ThreadPool::kUnbounded});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.Post([&] {
      gate.Pass();
      ++done;
    }));
  }
  gate.AwaitArrived(3);
  gate.Open();
  pool.Stop(ThreadPool::StopMode::kRunQueued);
  EXPECT_EQ(done.load(), 3);
}

TEST(ThreadPoolTest, RefusesAJobWhenQueueLimitJobsWait) {
  ThreadGate gate;
  std::atomic<int> ran{0};
  ThreadPool pool({"sg-test-pool", 1, 2});
  ASSERT_TRUE(pool.Post([&] {
    gate.Pass();
    ++ran;
  }));
  gate.AwaitArrived(1);  // the running job does not count against the limit
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_EQ(pool.Waiting(), 2u);
  EXPECT_FALSE(pool.Post([&] { ran += 100; }));  // full: destroyed unrun
  gate.Open();
  pool.Stop(ThreadPool::StopMode::kRunQueued);
  EXPECT_EQ(ran.load(), 3);
}

TEST(ThreadPoolTest, QueueLimitZeroRefusesEveryJob) {
  std::atomic<int> ran{0};
  ThreadPool pool({"sg-test-pool", 2, 0});
  EXPECT_FALSE(pool.Post([&] { ++ran; }));
  pool.Stop(ThreadPool::StopMode::kRunQueued);
  EXPECT_EQ(ran.load(), 0);
}

TEST(ThreadPoolTest, StopRunQueuedRunsEveryWaitingJobThenRefuses) {
  ThreadGate gate;
  std::atomic<int> ran{0};
  std::atomic<int> saw_stopping{0};
  ThreadPool pool({"sg-test-pool", 1, ThreadPool::kUnbounded});
  ASSERT_TRUE(pool.Post([&] {
    gate.Pass();
    ++ran;
  }));
  gate.AwaitArrived(1);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.Post([&] {
      if (pool.Stopping()) ++saw_stopping;
      ++ran;
    }));
  }
  std::thread stopper([&] { pool.Stop(ThreadPool::StopMode::kRunQueued); });
  AwaitStopping(pool);
  EXPECT_FALSE(pool.Post([&] { ran += 100; }));  // stopping: refused
  gate.Open();
  stopper.join();
  EXPECT_EQ(ran.load(), 6);           // nothing posted before Stop is lost
  EXPECT_EQ(saw_stopping.load(), 5);  // and the waiting ones could tell
  EXPECT_FALSE(pool.Post([&] { ran += 100; }));
}

TEST(ThreadPoolTest, StopDropQueuedFinishesTheRunningJobAndDestroysTheWaitingOnesUnrun) {
  ThreadGate gate;
  std::atomic<int> ran{0};
  auto token = std::make_shared<int>(0);  // held by each waiting job
  ThreadPool pool({"sg-test-pool", 1, ThreadPool::kUnbounded});
  ASSERT_TRUE(pool.Post([&] {
    gate.Pass();
    ++ran;
  }));
  gate.AwaitArrived(1);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pool.Post([&ran, token] { ran += 100; }));
  }
  EXPECT_EQ(token.use_count(), 5);
  std::thread stopper([&] { pool.Stop(ThreadPool::StopMode::kDropQueued); });
  AwaitStopping(pool);
  gate.Open();
  stopper.join();
  EXPECT_EQ(ran.load(), 1);           // the running job finished
  EXPECT_EQ(token.use_count(), 1);    // the waiting ones are gone, unrun
  EXPECT_EQ(pool.Waiting(), 0u);
}

TEST(ThreadPoolTest, DestructorDropsWaitingJobs) {
  ThreadGate gate;
  std::atomic<int> ran{0};
  std::thread opener;
  {
    ThreadPool pool({"sg-test-pool", 1, ThreadPool::kUnbounded});
    ASSERT_TRUE(pool.Post([&] {
      gate.Pass();
      ++ran;
    }));
    gate.AwaitArrived(1);
    ASSERT_TRUE(pool.Post([&] { ran += 100; }));
    opener = std::thread([&] {
      AwaitStopping(pool);
      gate.Open();
    });
  }
  opener.join();
  EXPECT_EQ(ran.load(), 1);
}

TEST(ThreadPoolTest, StopTwiceIsHarmless) {
  std::atomic<int> ran{0};
  ThreadPool pool({"sg-test-pool", 2, ThreadPool::kUnbounded});
  ASSERT_TRUE(pool.Post([&] { ++ran; }));
  pool.Stop(ThreadPool::StopMode::kRunQueued);
  pool.Stop(ThreadPool::StopMode::kDropQueued);
  EXPECT_EQ(ran.load(), 1);
}

TEST(ThreadPoolDeathTest, AJobThatThrowsAbortsNamingThePool) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ThreadPool pool({"sg-test-pool", 1, ThreadPool::kUnbounded});
        if (pool.Post([] { throw std::runtime_error("boom"); })) {
          pool.Stop(ThreadPool::StopMode::kRunQueued);
        }
      },
      "thread pool sg-test-pool: a job threw: boom");
}

}  // namespace
}  // namespace sg
