// smimegatectl deadletter list|show|replay|purge: the dead-letter topic of a
// gateway (common/deadletter_admin.h says what each does).
//
// Where the dead letters are read depends on the configuration's queue:
//   - queue.type kafka: straight from Kafka with the queue section (brokers,
//     TLS/SASL properties) - no gateway process needs to run;
//   - embedded: through the QueueAdmin service of the running `smimegate
//     run` (it holds the queue database), at the keyservice endpoint; when
//     no gateway answers there, from the queue database directly.
//
// Exit codes as every smimegatectl command: 0 ok, 1 refused or failed,
// 2 usage, 3 unreachable.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/deadletter_admin.h"

namespace grpc {
class Channel;
}

namespace sg::ctl {

struct DeadLetterSource {
  std::string home;    // --home (empty: $SMIMEGATE_HOME or ./var)
  std::string config;  // --config (empty: <home>/smimegate.yaml)
  // The gateway's gRPC endpoint (from --endpoint or the keyservice section).
  std::function<Result<std::string>()> endpoint;
  // A channel to it with the admin's credentials (mutual TLS; errors: the
  // credentials are missing or do not load).
  std::function<Result<std::shared_ptr<grpc::Channel>>(const std::string& endpoint)> channel;
  std::chrono::milliseconds timeout{30'000};
};

// The dead letters of the configured gateway, as described above.
Result<std::unique_ptr<deadletter::Admin>> OpenDeadLetters(const DeadLetterSource& source);

// Adds the `deadletter` command group to `app`. The chosen command is handed
// to `set_action`; it calls `open` when it runs.
void AddDeadLetterCommands(CLI::App& app,
                           std::function<Result<std::unique_ptr<deadletter::Admin>>()> open,
                           std::function<void(std::function<int()>)> set_action);

}  // namespace sg::ctl
