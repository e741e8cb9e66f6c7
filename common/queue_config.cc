#include "common/queue_config.h"

#include "common/embedded_queue.h"
#include "common/topics.h"

namespace sg::queue {

std::string QueueConfig::Topic(std::string_view name) const {
  return topics::Name(topic_prefix, name);
}

std::vector<TopicSpec> QueueConfig::PipelineTopics() const {
  return {{Topic(topics::kInbound), partitions},
          {Topic(topics::kOutbound), partitions},
          {Topic(topics::kDeliver), partitions},
          {Topic(topics::kRetry), partitions},
          {Topic(topics::kDeadLetter), 1}};
}

Result<QueueConfig> ParseQueueConfig(const config::ConfigNode& section,
                                     const std::string& data_dir) {
  QueueConfig c;
  SG_ASSIGN_OR_RETURN(c.type, section.Enum("type", {"embedded", "kafka"}, "embedded"));
  if (c.type == "kafka") {
    return section.ErrorAt("type", "the Kafka queue is not built into this version yet; use "
                                   "type: embedded");
  }
  SG_ASSIGN_OR_RETURN(c.topic_prefix, section.String("topic_prefix", ""));
  SG_ASSIGN_OR_RETURN(int64_t parts, section.Int("partitions", 8, 1, 1024));
  c.partitions = static_cast<int32_t>(parts);
  SG_ASSIGN_OR_RETURN(c.max_record_bytes, section.Size("max_record_size", 64ull << 20));
  SG_ASSIGN_OR_RETURN(auto embedded, section.Map("embedded"));
  SG_ASSIGN_OR_RETURN(c.embedded_path, embedded.String("path", "queue"));
  if (!c.embedded_path.empty() && c.embedded_path[0] != '/') {
    c.embedded_path = data_dir + "/" + c.embedded_path;
  }
  SG_ASSIGN_OR_RETURN(c.embedded_sync, embedded.Bool("sync", true));
  return c;
}

Result<std::unique_ptr<Queue>> OpenQueue(const QueueConfig& config) {
  EmbeddedQueueOptions o;
  o.path = config.embedded_path;
  o.sync = config.embedded_sync;
  o.max_record_bytes = config.max_record_bytes;
  SG_ASSIGN_OR_RETURN(auto q, EmbeddedQueue::Open(o));
  SG_RETURN_IF_ERROR(q->EnsureTopics(config.PipelineTopics()));
  return std::unique_ptr<Queue>(std::move(q));
}

}  // namespace sg::queue
