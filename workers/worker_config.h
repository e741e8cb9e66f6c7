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
};

Result<WorkerConfig> ParseWorkerConfig(const config::ConfigNode& section);

}  // namespace sg::workers
