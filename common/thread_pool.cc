#include "common/thread_pool.h"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <utility>

#include "common/thread_name.h"

namespace sg {
namespace {

// A job that throws is a bug (thread_pool.h): said on stderr, then abort.
[[noreturn]] void JobThrew(const std::string& pool, const char* what) {
  std::cerr << "thread pool " << pool << ": a job threw: " << what << std::endl;
  std::abort();
}

}  // namespace

ThreadPool::ThreadPool(Options options) : options_(std::move(options)) {
  const size_t n = options_.threads == 0 ? 1 : options_.threads;
  threads_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this] {
      if (!options_.name.empty()) SetCurrentThreadName(options_.name);
      Run();
    });
  }
}

ThreadPool::~ThreadPool() { Stop(StopMode::kDropQueued); }

bool ThreadPool::Post(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || waiting_.size() >= options_.queue_limit) return false;
    waiting_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void ThreadPool::Stop(StopMode mode) {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  std::deque<Job> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drop_ = mode == StopMode::kDropQueued;
      if (drop_) dropped.swap(waiting_);
    }
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // `dropped` is destroyed here, outside the lock: a job's captures may
  // take locks of their own when they go.
}

bool ThreadPool::Stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

size_t ThreadPool::Waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

void ThreadPool::Run() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty() || drop_) return;  // stopping, with nothing (more) to run
      job = std::move(waiting_.front());
      waiting_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      JobThrew(options_.name, e.what());
    } catch (...) {
      JobThrew(options_.name, "a non-standard exception");
    }
  }
}

}  // namespace sg
