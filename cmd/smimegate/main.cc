// smimegate: the gateway binary. Parses the command line and configuration
// and hands over to App; nothing else lives here.
//
// Exit codes: 0 clean shutdown, 1 runtime failure (port taken, storage
// error), 2 usage or configuration error, 3 shutdown not drained (the
// shutdown.deadline was reached, or a second SIGTERM/SIGINT came).
#include <malloc.h>
#include <signal.h>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "cmd/smimegate/app.h"
#include "cmd/smimegate/app_config.h"
#include "common/logging.h"

namespace {

// Exit code of a shutdown that did not drain: the deadline was reached or a
// second signal came. What was not committed is delivered after a restart.
constexpr int kExitUnclean = 3;

// Bounds the shutdown whatever the stages and their dependencies do: while
// App::Stop runs on the main thread, this thread waits for a second
// SIGTERM/SIGINT (exit at once) or the end of shutdown.deadline (exit
// then). Both log the reason, count it and _exit without running
// destructors that may block (a librdkafka handle on a dead broker, a gRPC
// channel): everything acknowledged is durable in the queue, so this is no
// worse than SIGKILL, which the crash tests cover.
class ShutdownGuard {
 public:
  ShutdownGuard(sg::app::App& app, sigset_t signals)
      : app_(app), signals_(signals), start_(std::chrono::steady_clock::now()),
        thread_([this] { Run(); }) {}
  ~ShutdownGuard() { Finish(); }

  // App::Stop returned in time: stop watching. When the guard has already
  // decided to exit, waits for that (the process ends in _exit).
  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (exiting_) {
        while (true) pause();
      }
      done_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }
  long long ElapsedMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  void Run() {
    const auto deadline = start_ + app_.shutdown_deadline();
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (done_) return;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        Exit("deadline", "shutdown.deadline reached before every stage had drained");
      }
      // Short slices: Finish() is noticed quickly without another wake-up.
      struct timespec slice {0, 50 * 1000 * 1000};
      int sig = sigtimedwait(&signals_, nullptr, &slice);
      if (sig == SIGINT || sig == SIGTERM) {
        Exit("second_signal", std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                  " received again while draining");
      }
      // SIGHUP while stopping: nothing to reload any more.
    }
  }
  [[noreturn]] void Exit(const char* reason, const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      exiting_ = true;
    }
    app_.CountShutdown(reason);
    spdlog::warn("shutdown: {} after {} ms: {}; exiting now, what was not committed is "
                 "delivered again after the restart", reason, ElapsedMs(), why);
    spdlog::default_logger()->flush();
    std::fprintf(stderr, "smimegate: stopped (%s, %lld ms): %s\n", reason, ElapsedMs(),
                 why.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    _exit(kExitUnclean);
  }

  sg::app::App& app_;
  sigset_t signals_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  bool done_ = false;     // guarded by mu_
  bool exiting_ = false;  // guarded by mu_
  std::thread thread_;    // last: starts once the rest is set
};

int RunCommand(const std::string& config_path, sg::app::Stage stage) {
  // Signals are taken by sigwait below, never by a handler on a random thread.
  // A shell starting us in the background leaves SIGINT ignored, and an
  // ignored signal is discarded even while blocked: restore the defaults.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = sg::app::LoadAppConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "smimegate: %s\n", config.error().message.c_str());
    return 2;
  }
  if (auto s = sg::InitLogging(config->log); !s.ok()) {
    std::fprintf(stderr, "smimegate: %s\n", s.error().message.c_str());
    return 2;
  }
  sg::app::App app(std::move(*config), stage);
  if (auto s = app.Start(); !s.ok()) {
    std::fprintf(stderr, "smimegate: cannot start: %s\n", s.error().message.c_str());
    // A setting that is wrong (e.g. a missing key-encryption key) is a
    // configuration error; anything else is a runtime failure.
    return s.error().code == sg::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("smimegate ready: %s\n", app.Summary().c_str());
  std::fflush(stdout);
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      std::fprintf(stderr, "smimegate: SIGHUP: %s\n", app.Reload().c_str());
      continue;
    }
    std::fprintf(stderr, "smimegate: %s received, shutting down (shutdown.deadline %lld ms; "
                 "a second signal exits at once)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<long long>(app.shutdown_deadline().count()));
    break;
  }
  ShutdownGuard guard(app, signals);
  app.Stop();
  guard.Finish();
  app.CountShutdown("clean");
  spdlog::info("shutdown: clean, took {} ms", guard.ElapsedMs());
  std::fprintf(stderr, "smimegate: stopped (clean, %lld ms)\n",
               static_cast<long long>(guard.ElapsedMs()));
  return 0;
}

int CheckConfigCommand(const std::string& config_path) {
  auto config = sg::app::LoadAppConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "smimegate: %s\n", config.error().message.c_str());
    return 2;
  }
  std::printf("%s: configuration is valid\n", config_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Messages pass through as buffers of up to tens of MB. glibc serves
  // those from fresh mmap()s that every message faults in page by page and
  // gives back on free (page faults were 5-10 % of the CPU at 1 MB); keep
  // them in the heap and reuse the memory instead.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  CLI::App cli{"smimegate: the S/MIME encryption gateway"};
  cli.require_subcommand(1);
  std::string config_path = sg::app::DefaultConfigPath();

  auto* run = cli.add_subcommand(
      "run", "Run every stage (ingress, workers, keyservice, egress) in one process");
  run->add_option("-c,--config", config_path,
                  "Configuration file (default $SMIMEGATE_HOME/smimegate.yaml, ./var/smimegate.yaml)");
  auto* check = cli.add_subcommand("check-config", "Validate the configuration file and exit");
  check->add_option("-c,--config", config_path, "Configuration file");

  // The distributed mode: one stage per process, connected through Kafka.
  struct StageCommand {
    const char* name;
    const char* help;
    sg::app::Stage stage;
    CLI::App* cmd = nullptr;
  };
  StageCommand stages[] = {
      {"ingress", "Run only the SMTP ingress (queue.type: kafka)", sg::app::Stage::kIngress},
      {"worker", "Run only the crypto workers (queue.type: kafka)", sg::app::Stage::kWorker},
      {"egress", "Run only the delivery stage (queue.type: kafka)", sg::app::Stage::kEgress},
      {"keyservice", "Run only the keyservice (users, keys, CA; gRPC API)",
       sg::app::Stage::kKeyService},
  };
  for (auto& st : stages) {
    st.cmd = cli.add_subcommand(st.name, st.help);
    st.cmd->add_option("-c,--config", config_path, "Configuration file");
  }

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*run) return RunCommand(config_path, sg::app::Stage::kAll);
  for (const auto& st : stages) {
    if (*st.cmd) return RunCommand(config_path, st.stage);
  }
  if (*check) return CheckConfigCommand(config_path);
  return 2;
}
