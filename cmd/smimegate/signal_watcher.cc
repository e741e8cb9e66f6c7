#include "cmd/smimegate/signal_watcher.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace sg::app {

SignalWatcher::SignalWatcher(App& app, sigset_t signals)
    : app_(app), signals_(signals), thread_([this] { Run(); }) {}

SignalWatcher::~SignalWatcher() { Finish(); }

SignalWatcher::Event SignalWatcher::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stop_ || reloads_ > 0; });
  if (stop_) return Event::kStop;
  --reloads_;
  return Event::kReload;
}

bool SignalWatcher::StopRequested() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

long long SignalWatcher::StopElapsedMs() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!stop_) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               stop_at_)
      .count();
}

void SignalWatcher::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (exiting_) {
      while (true) pause();  // the watcher thread ends the process now
    }
    done_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SignalWatcher::Run() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) return;
      if (stop_ && std::chrono::steady_clock::now() >= stop_at_ + app_.shutdown_deadline()) {
        exiting_ = true;
      }
    }
    if (exiting_) Exit("deadline", "shutdown.deadline reached before every stage had drained");
    // Short slices: Finish() and the deadline are noticed without another wake-up.
    struct timespec slice {0, 50 * 1000 * 1000};
    const int sig = sigtimedwait(&signals_, nullptr, &slice);
    if (sig == SIGHUP) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_) ++reloads_;  // nothing to reload while stopping
      cv_.notify_all();
      continue;
    }
    if (sig != SIGINT && sig != SIGTERM) continue;
    const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        exiting_ = true;
      } else {
        stop_ = true;
        stop_at_ = std::chrono::steady_clock::now();
      }
    }
    if (exiting_) Exit("second_signal", std::string(name) + " received again while draining");
    std::fprintf(stderr, "smimegate: %s received, shutting down (shutdown.deadline %lld ms; "
                 "a second signal exits at once)\n",
                 name, static_cast<long long>(app_.shutdown_deadline().count()));
    app_.Interrupt();
    cv_.notify_all();
  }
}

void SignalWatcher::Exit(const char* reason, const std::string& why) {
  app_.CountShutdown(reason);
  const long long ms = StopElapsedMs();
  spdlog::warn("shutdown: {} after {} ms: {}; exiting now, what was not committed is "
               "delivered again after the restart", reason, ms, why);
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "smimegate: stopped (%s, %lld ms): %s\n", reason, ms, why.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(kExitUnclean);
}

}  // namespace sg::app
