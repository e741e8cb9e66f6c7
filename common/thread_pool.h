// ThreadPool: N threads of its own that run posted jobs in the order they
// were posted, from a bounded queue. It is what a stage uses to keep
// blocking work (a queue read by offset, an HTTPS request, a directory
// lookup) off its event loop or its caller's thread: the egress body
// fetcher, the MTA-STS fetcher and the workers' certificate discovery.
//
// Bounded: at most `queue_limit` jobs wait (jobs being run do not count);
// Post refuses the next one, so the caller decides what "full" means for
// it (discovery: "overloaded"). A caller whose own bookkeeping already
// bounds what it posts passes kUnbounded.
//
// Stop: refuses new jobs, then either runs every job still waiting
// (kRunQueued: nothing posted is lost; a job that must not do its work any
// more asks Stopping() and answers "cancelled" instead) or destroys them
// unrun (kDropQueued: the caller accepts that their work never happens,
// e.g. records left uncommitted are read again). Either way the jobs being
// run finish, and Stop returns when every thread has been joined. The
// destructor is Stop(kDropQueued).
//
// Errors: jobs must not throw (no exceptions past a library edge). One that
// does is a bug: the pool names itself and the exception on stderr and
// aborts, so the supervisor restarts the process rather than a thread dying
// silently with its work half done.
//
// Threading: Post and Stop from any thread but a pool thread (Stop from a
// job would join itself); jobs run on the pool's threads, never on the
// caller's. The pool owns its threads and the jobs it holds; whatever a job
// refers to must outlive the pool's Stop.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sg {

class ThreadPool {
 public:
  using Job = std::function<void()>;
  static constexpr size_t kUnbounded = std::numeric_limits<size_t>::max();

  struct Options {
    std::string name;  // the threads' name (common/thread_name.h) and the name in errors
    size_t threads = 1;                // at least 1 is started
    size_t queue_limit = kUnbounded;   // jobs waiting at most; 0 refuses every job
  };
  enum class StopMode { kRunQueued, kDropQueued };

  explicit ThreadPool(Options options);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `job`; false when queue_limit jobs are already waiting or Stop
  // has begun (the job is destroyed unrun).
  [[nodiscard]] bool Post(Job job);

  // See above. Once stopped, later calls return at once.
  void Stop(StopMode mode);

  // True once Stop has begun: a job run by kRunQueued asks this to answer
  // "cancelled" instead of doing its work.
  bool Stopping() const;

  // Jobs waiting, not yet started.
  size_t Waiting() const;

 private:
  void Run();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> waiting_;  // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  bool drop_ = false;        // guarded by mu_
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;  // serialises Stop (joins happen once)
};

}  // namespace sg
