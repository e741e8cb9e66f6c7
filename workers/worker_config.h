// The `workers` section of the configuration.
#pragma once

#include <chrono>
#include <string>

#include "common/config_node.h"

namespace sg::workers {

struct WorkerConfig {
  int threads = 0;                  // 0: one per core
  int max_batch = 64;               // records taken per poll
  int max_attempts = 5;             // transient failures before dead-lettering
  std::string group = "smimegate-workers";
  // Also consume the portal-reply topic (set by cmd/smimegate when the
  // portal or web encryption is on; not a configuration key).
  bool portal_replies = false;
  // How long a batch waits for the queue to acknowledge its outputs before it
  // is read again (the late acks are then ignored).
  std::chrono::milliseconds ack_timeout{60'000};
};

Result<WorkerConfig> ParseWorkerConfig(const config::ConfigNode& section);

}  // namespace sg::workers
