// The `queue` section of the configuration and the factory that opens the
// configured implementation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/queue.h"

namespace sg::queue {

struct QueueConfig {
  std::string type = "embedded";  // embedded | kafka
  std::string topic_prefix;       // prepended to every topic name
  int32_t partitions = 8;         // partitions of each topic created at start-up
  // embedded
  std::string embedded_path;      // default: <data_dir>/queue
  bool embedded_sync = true;      // fsync before acking; never false in production
  uint64_t max_record_bytes = 64ull << 20;

  std::string Topic(std::string_view name) const;
  // Every topic of the pipeline with its partition count.
  std::vector<TopicSpec> PipelineTopics() const;
};

Result<QueueConfig> ParseQueueConfig(const config::ConfigNode& section, const std::string& data_dir);

// Opens the configured queue (the embedded one; Kafka arrives with its issue).
Result<std::unique_ptr<Queue>> OpenQueue(const QueueConfig& config);

}  // namespace sg::queue
