// SignalWatcher: the signals of a smimegate process, and the bound on its
// shutdown (issue 23).
//
// A thread of its own takes SIGTERM, SIGINT and SIGHUP (blocked in every
// thread before any is started, so only sigtimedwait sees them):
//   - SIGHUP: Wait() returns kReload to the main thread (not while stopping);
//   - the first SIGTERM/SIGINT: App::Interrupt() (a start-up that waits for a
//     dependency gives up), Wait() returns kStop, and the shutdown clock
//     starts;
//   - a second SIGTERM/SIGINT, or shutdown.deadline passing before Finish():
//     logs the reason, counts it in smimegate_shutdowns_total and _exit(3)s
//     without running destructors that may block (a librdkafka handle on a
//     dead broker, a gRPC channel). Everything acknowledged is durable in the
//     queue, so this is no worse than SIGKILL, which the crash tests cover.
//
// Threading: construct, Wait and Finish from the main thread.
#pragma once

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "cmd/smimegate/app.h"

namespace sg::app {

// Exit code of a shutdown that did not drain.
constexpr int kExitUnclean = 3;

class SignalWatcher {
 public:
  enum class Event { kReload, kStop };

  // `signals`: SIGTERM, SIGINT, SIGHUP, already blocked in this thread.
  SignalWatcher(App& app, sigset_t signals);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Blocks until SIGHUP (kReload) or the first SIGTERM/SIGINT (kStop).
  Event Wait();
  // True once the first SIGTERM/SIGINT came.
  bool StopRequested();
  // The shutdown is done: stop watching (a signal from now on is the
  // default action's business... none: they stay blocked). Waits forever if
  // the watcher is exiting the process right now.
  void Finish();
  // Since the first SIGTERM/SIGINT.
  long long StopElapsedMs();

 private:
  void Run();
  [[noreturn]] void Exit(const char* reason, const std::string& why);

  App& app_;
  sigset_t signals_;
  std::mutex mu_;
  std::condition_variable cv_;
  int reloads_ = 0;              // guarded by mu_
  bool stop_ = false;            // guarded by mu_
  bool done_ = false;            // guarded by mu_
  bool exiting_ = false;         // guarded by mu_
  std::chrono::steady_clock::time_point stop_at_;  // guarded by mu_
  std::thread thread_;           // last: starts once the rest is set
};

}  // namespace sg::app
