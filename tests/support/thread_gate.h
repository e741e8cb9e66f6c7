// ThreadGate: holds the threads that Pass() it until the test calls Open(),
// and tells the test how many have arrived, so a test can keep a worker
// busy at a known point without sleeping (a job of a thread pool, a
// directory lookup in progress).
//
// Threading: Pass on any thread; Open and AwaitArrived on the test thread.
#pragma once

#include <condition_variable>
#include <mutex>

namespace sg::testing {

class ThreadGate {
 public:
  // Counts the caller as arrived, then blocks until the gate is open.
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++arrived_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  // Lets every waiting and later caller through.
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Returns once `n` callers have arrived at the gate.
  void AwaitArrived(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this, n] { return arrived_ >= n; });
  }
  int Arrived() {
    std::lock_guard<std::mutex> lock(mu_);
    return arrived_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool open_ = false;
};

}  // namespace sg::testing
