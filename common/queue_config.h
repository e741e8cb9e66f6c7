// The `queue` section of the configuration and the factory that opens the
// configured implementation.
#pragma once

#include <chrono>
#include <map>
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
  // kafka
  std::string kafka_brokers;
  std::map<std::string, std::string> kafka_properties;
  bool kafka_create_topics = true;
  int kafka_replication_factor = -1;
  std::chrono::milliseconds kafka_linger{5};
  std::chrono::milliseconds kafka_delivery_timeout{30000};
  std::chrono::milliseconds kafka_session_timeout{10000};
  // queue.kafka.static_membership: the process's name for its consumers'
  // group.instance.id (common/kafka_member_id.h); empty when off.
  std::string kafka_static_member_name;
  // Body references (issue 21; common/kafka_retention.h): the retention an
  // inbound/outbound topic needs at least before a deliver record may refer
  // to its records, and the retention stated instead of asking the brokers
  // (0: ask them with DescribeConfigs).
  std::chrono::milliseconds kafka_share_min_retention{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds kafka_assume_retention{0};
  // Not a configuration key: the gateway sets it from shutdown.deadline.
  std::chrono::milliseconds kafka_close_timeout{5000};
  // The dead-letter topic's retention (queue.deadletter): what a stage gave
  // up on - possibly decrypted mail - is kept this long at most.
  Retention deadletter_retention{std::chrono::hours(24 * 14), 1ull << 30};

  std::string Topic(std::string_view name) const;
  // Every topic of the pipeline with its partition count.
  std::vector<TopicSpec> PipelineTopics() const;
};

Result<QueueConfig> ParseQueueConfig(const config::ConfigNode& section, const std::string& data_dir);

// Opens the configured queue and (ensure_topics) makes sure the pipeline's
// topics exist; administration tools open it without creating anything.
Result<std::unique_ptr<Queue>> OpenQueue(const QueueConfig& config, bool ensure_topics = true);

}  // namespace sg::queue
