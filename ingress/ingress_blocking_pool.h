// A small pool of threads for the work a session must never do on its event
// loop: argon2 password checks (CPU-heavy by design) and recipient
// verification (keyservice lookups, SMTP callouts that wait on the network).
// The server runs one pool per kind of work, so slow callouts can never
// delay AUTH, and neither shares libuv's process-wide thread pool.
//
// The queue is bounded: when it is full, Submit refuses and the session
// answers with a temporary failure (454 / 451) instead of piling up work a
// flood of clients asked for.
//
// Threading: Submit from any thread; jobs run on the pool's threads.
// Ownership: the server owns its pools; the destructor stops the threads
// and drops jobs not yet started (their sessions are gone by then).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sg::ingress {

class BlockingPool {
 public:
  // `name` names the threads (at most 15 characters, e.g. "sg-ingress-auth").
  BlockingPool(std::string name, size_t threads, size_t max_queued);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `job`; false (and `job` is not run) when max_queued jobs wait.
  bool Submit(std::function<void()> job);

 private:
  void Run();

  const std::string name_;
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sg::ingress
