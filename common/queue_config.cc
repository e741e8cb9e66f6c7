#include "common/queue_config.h"

#include "common/embedded_queue.h"
#include "common/kafka_member_id.h"
#include "common/kafka_properties.h"
#include "common/kafka_queue.h"
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
          {Topic(topics::kDeadLetter), 1, deadletter_retention}};
}

Result<QueueConfig> ParseQueueConfig(const config::ConfigNode& section,
                                     const std::string& data_dir) {
  QueueConfig c;
  SG_ASSIGN_OR_RETURN(c.type, section.Enum("type", {"embedded", "kafka"}, "embedded"));
  SG_ASSIGN_OR_RETURN(c.topic_prefix,
                      section.String("topic_prefix", c.type == "kafka" ? "smimegate." : ""));
  SG_ASSIGN_OR_RETURN(int64_t parts, section.Int("partitions", 8, 1, 1024));
  c.partitions = static_cast<int32_t>(parts);
  SG_ASSIGN_OR_RETURN(c.max_record_bytes, section.Size("max_record_size", 64ull << 20));
  SG_ASSIGN_OR_RETURN(auto dead, section.Map("deadletter"));
  SG_ASSIGN_OR_RETURN(c.deadletter_retention.max_age,
                      dead.Duration("max_age", c.deadletter_retention.max_age));
  SG_ASSIGN_OR_RETURN(c.deadletter_retention.max_bytes,
                      dead.Size("max_bytes", c.deadletter_retention.max_bytes));
  if (c.deadletter_retention.max_age.count() <= 0 && c.deadletter_retention.max_bytes == 0) {
    return dead.ErrorAt("max_age", "the dead-letter topic needs a retention: max_age or max_bytes");
  }
  SG_ASSIGN_OR_RETURN(auto embedded, section.Map("embedded"));
  SG_ASSIGN_OR_RETURN(c.embedded_path, embedded.String("path", "queue"));
  if (!c.embedded_path.empty() && c.embedded_path[0] != '/') {
    c.embedded_path = data_dir + "/" + c.embedded_path;
  }
  SG_ASSIGN_OR_RETURN(c.embedded_sync, embedded.Bool("sync", true));
  SG_ASSIGN_OR_RETURN(auto kafka, section.Map("kafka"));
  SG_ASSIGN_OR_RETURN(c.kafka_brokers, kafka.String("brokers", ""));
  if (c.type == "kafka" && c.kafka_brokers.empty()) {
    return kafka.ErrorAt("brokers", "required when queue.type is kafka (host:port,host:port)");
  }
  SG_ASSIGN_OR_RETURN(c.kafka_properties, kafka.StringMap("properties"));
  if (Status owned = CheckKafkaProperties(c.kafka_properties); !owned.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, "config " + owned.error().message);
  }
  SG_ASSIGN_OR_RETURN(c.kafka_create_topics, kafka.Bool("create_topics", true));
  SG_ASSIGN_OR_RETURN(int64_t rf, kafka.Int("replication_factor", -1, -1, 100));
  c.kafka_replication_factor = static_cast<int>(rf);
  SG_ASSIGN_OR_RETURN(c.kafka_linger, kafka.Duration("linger", std::chrono::milliseconds(5)));
  SG_ASSIGN_OR_RETURN(c.kafka_delivery_timeout,
                      kafka.Duration("delivery_timeout", std::chrono::milliseconds(30000)));
  SG_ASSIGN_OR_RETURN(c.kafka_session_timeout,
                      kafka.Duration("session_timeout", std::chrono::milliseconds(10000)));
  SG_ASSIGN_OR_RETURN(bool static_membership, kafka.Bool("static_membership", false));
  if (static_membership) {
    SG_ASSIGN_OR_RETURN(c.kafka_static_member_name, LocalStaticMemberName());
  }
  SG_ASSIGN_OR_RETURN(c.kafka_share_min_retention,
                      kafka.Duration("share_min_retention", c.kafka_share_min_retention));
  SG_ASSIGN_OR_RETURN(c.kafka_assume_retention,
                      kafka.Duration("assume_retention", std::chrono::milliseconds(0)));
  return c;
}

Result<std::unique_ptr<Queue>> OpenQueue(const QueueConfig& config, bool ensure_topics) {
  if (config.type == "kafka") {
    KafkaQueueOptions k;
    k.brokers = config.kafka_brokers;
    k.properties = config.kafka_properties;
    k.create_topics = config.kafka_create_topics;
    k.replication_factor = config.kafka_replication_factor;
    k.max_record_bytes = config.max_record_bytes;
    k.linger = config.kafka_linger;
    k.delivery_timeout = config.kafka_delivery_timeout;
    k.session_timeout = config.kafka_session_timeout;
    k.close_timeout = config.kafka_close_timeout;
    k.static_member_name = config.kafka_static_member_name;
    k.share_min_retention = config.kafka_share_min_retention;
    k.assume_retention = config.kafka_assume_retention;
    SG_ASSIGN_OR_RETURN(auto kq, KafkaQueue::Open(k));
    if (ensure_topics) SG_RETURN_IF_ERROR(kq->EnsureTopics(config.PipelineTopics()));
    return std::unique_ptr<Queue>(std::move(kq));
  }
  EmbeddedQueueOptions o;
  o.path = config.embedded_path;
  o.sync = config.embedded_sync;
  o.max_record_bytes = config.max_record_bytes;
  SG_ASSIGN_OR_RETURN(auto q, EmbeddedQueue::Open(o));
  if (ensure_topics) SG_RETURN_IF_ERROR(q->EnsureTopics(config.PipelineTopics()));
  return std::unique_ptr<Queue>(std::move(q));
}

}  // namespace sg::queue
