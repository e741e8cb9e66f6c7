// smimegate: the gateway binary. Parses the command line and configuration
// and hands over to App; nothing else lives here.
//
// Exit codes: 0 clean shutdown, 1 runtime failure (port taken, storage
// error), 2 usage or configuration error, 3 shutdown not drained (the
// shutdown.deadline was reached, or a second SIGTERM/SIGINT came).
#include <malloc.h>
#include <signal.h>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cmd/smimegate/app.h"
#include "cmd/smimegate/app_config.h"
#include "cmd/smimegate/config_check.h"
#include "cmd/smimegate/config_show.h"
#include "cmd/smimegate/signal_watcher.h"
#include "common/config_entries.h"
#include "common/logging.h"
#include "common/version.h"

namespace {

// Stops the app; the watcher exits the process instead if the deadline
// passes or a second signal comes first.
int StopCleanly(sg::app::App& app, sg::app::SignalWatcher& watcher) {
  app.Stop();
  watcher.Finish();
  const long long ms = watcher.StopElapsedMs();
  app.CountShutdown("clean");
  spdlog::info("shutdown: clean, took {} ms", ms);
  std::fprintf(stderr, "smimegate: stopped (clean, %lld ms)\n", ms);
  return 0;
}

int RunCommand(const std::string& config_path, sg::app::Stage stage) {
  // Signals are taken by the SignalWatcher's thread (sigtimedwait), never by
  // a handler on a random thread: blocked here, before any thread starts.
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
  sg::app::SignalWatcher watcher(app, signals);
  if (auto s = app.Start(); !s.ok()) {
    if (watcher.StopRequested() && s.error().code == sg::ErrorCode::kCancelled) {
      // Stopped while waiting for a dependency: a clean stop.
      spdlog::info("start-up: {}", s.error().message);
      return StopCleanly(app, watcher);
    }
    std::fprintf(stderr, "smimegate: cannot start: %s\n", s.error().message.c_str());
    watcher.Finish();
    // A setting that is wrong (e.g. a missing key-encryption key) is a
    // configuration error; anything else is a runtime failure.
    return s.error().code == sg::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("smimegate ready: %s\n", app.Summary().c_str());
  std::fflush(stdout);
  while (watcher.Wait() == sg::app::SignalWatcher::Event::kReload) {
    std::fprintf(stderr, "smimegate: SIGHUP: %s\n", app.Reload().c_str());
  }
  return StopCleanly(app, watcher);
}

// Parses, then checks what would stop `stage` at start (config_check.h):
// the KEK, the ports, the certificate files. Exit 0, or 2 with every problem.
int CheckConfigCommand(const std::string& config_path, sg::app::Stage stage) {
  auto config = sg::app::LoadAppConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "smimegate: %s\n", config.error().message.c_str());
    return 2;
  }
  auto check = sg::app::CheckDeployment(*config, stage, std::chrono::system_clock::now());
  for (const auto& w : check.warnings) std::cerr << "smimegate: warning: " << w << "\n";
  for (const auto& e : check.errors) std::cerr << "smimegate: " << e << "\n";
  if (!check.errors.empty()) return 2;
  std::cout << config_path << ": configuration is valid\n";
  return 0;
}

int ConfigShowCommand(const std::string& config_path, sg::app::ShowMode mode) {
  sg::config::ConfigRecorder recorder;
  auto config = sg::app::LoadAppConfig(config_path);
  if (!config.ok()) {
    std::cerr << "smimegate: " << config.error().message << "\n";
    return 2;
  }
  std::cout << sg::app::FormatConfigEntries(recorder.entries(), mode);
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
  cli.set_version_flag("--version", sg::VersionLine("smimegate"));
  auto* check = cli.add_subcommand(
      "check-config",
      "Validate the configuration file, the key-encryption key, ports and certificate files");
  check->add_option("-c,--config", config_path, "Configuration file");
  std::string check_stage = "all";
  check->add_option("--stage", check_stage,
                    "The stage the configuration is for (what is checked: the KEK for the "
                    "keyservice, the listeners of each stage)")
      ->check(CLI::IsMember({"all", "ingress", "worker", "egress", "keyservice", "portal"}));
  auto* config_cmd = cli.add_subcommand("config", "Show the configuration");
  config_cmd->require_subcommand(1);
  auto* show = config_cmd->add_subcommand(
      "show", "Print every key with its effective value (file, environment or default)");
  show->add_option("-c,--config", config_path, "Configuration file");
  bool show_defaults = false;
  bool show_changed = false;
  auto* defaults_flag = show->add_flag("-d,--defaults", show_defaults,
                                       "Print each key's default instead (like postconf -d)");
  show->add_flag("-n,--changed", show_changed,
                 "Print only the keys set in the file or the environment (like postconf -n)")
      ->excludes(defaults_flag);

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
      {"portal", "Run only the web-encryption portal (queue.type: kafka)",
       sg::app::Stage::kPortal},
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
  if (*check) {
    sg::app::Stage stage = sg::app::Stage::kAll;
    for (const auto& st : stages) {
      if (check_stage == st.name) stage = st.stage;
    }
    return CheckConfigCommand(config_path, stage);
  }
  if (*show) {
    const auto mode = show_defaults  ? sg::app::ShowMode::kDefaults
                      : show_changed ? sg::app::ShowMode::kChanged
                                     : sg::app::ShowMode::kEffective;
    return ConfigShowCommand(config_path, mode);
  }
  return 2;
}
