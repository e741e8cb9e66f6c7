// KafkaQueue: the Queue (common/queue.h) on Kafka, with librdkafka.
//
// Producing: one idempotent producer per queue (enable.idempotence=true,
// acks=all), shared by every Producer object; a poll thread serves delivery
// reports and runs each record's callback, so "OK" means every in-sync
// replica has the record. The partition is chosen by PartitionForKey (the
// same murmur2 mapping as the embedded queue).
//
// Consuming: one librdkafka consumer per Consumer object, in the configured
// group, auto-commit off; Commit is a synchronous offset commit to the
// group coordinator. On a rebalance the revoked partitions' uncommitted
// records go to their new owner (at least once); a late Commit on a revoked
// partition is refused with kPermissionDenied. With SetDrainOnRevoke the
// rebalance callback does not unassign: the revoked assignment stays
// (revoking, its records dropped by Poll) until ReleaseRevoking unassigns
// on the polling thread, and librdkafka rejoins the group only then; a
// commit meanwhile goes to the coordinator with the old generation, which
// Kafka accepts while the group prepares its rebalance. Open() refuses
// queue.kafka.properties that smimegate sets itself (CheckKafkaProperties,
// common/kafka_properties.h). Consumers are ReadyNotifiers
// (common/queue_ready.h): librdkafka's event on the consumer queue calls the
// callback when that queue goes from empty to not empty.
//
// Static membership (options.static_member_name set): each consumer joins
// its group with a group.instance.id of its own (common/kafka_member_id.h);
// CreateConsumer refuses one whose id would repeat another's. A static
// member sends no LeaveGroup when it closes: its partitions wait for it
// (a restart within session_timeout gets them back without a rebalance, on
// a broker that implements KIP-345) until the session times out.
//
// Retention: a TopicSpec with a Retention creates its topic with
// retention.ms / retention.bytes (KafkaTopicConfig). A topic that exists
// keeps the configuration it has: change it with kafka-configs.sh (see
// docs/operations.md).
//
// Body references: no pins (Kafka deletes by time and size whatever refers
// to a record); a topic whose retention is known to be long enough may be
// referred to (ReferenceTermsFor, common/kafka_retention.h), and ReadRecord
// fetches the one record by offset (common/kafka_record_reader.h).
//
// Administration: ReadRange reads with a short-lived consumer that joins no
// group (assign, no commits); DeleteBefore is Kafka's DeleteRecords.
//
// Correctness never rests on Kafka transactions (Debian's librdkafka 2.0.2
// mock cluster does not filter aborted records): at-least-once plus the
// egress duplicate suppression is the design.
//
// Threading: as common/queue.h. librdkafka runs its own threads.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/queue.h"
#include "common/queue_references.h"

namespace sg::queue {

struct KafkaQueueOptions {
  std::string brokers;                          // bootstrap.servers
  std::string client_id = "smimegate";
  std::map<std::string, std::string> properties;  // extra librdkafka settings (TLS, SASL...)
  bool create_topics = true;                    // CreateTopics for missing topics at start-up
  int replication_factor = -1;                  // for created topics; -1: the broker default
  uint64_t max_record_bytes = 64ull << 20;
  std::chrono::milliseconds linger{5};
  std::chrono::milliseconds delivery_timeout{30000};  // message.timeout.ms
  std::chrono::milliseconds session_timeout{10000};
  // How long a commit waits for the group coordinator's answer, and (at
  // shutdown) closing a consumer (leaving its group) and flushing the
  // producer at destruction, also when the brokers are gone.
  std::chrono::milliseconds close_timeout{5000};
  // Not empty: static group membership (queue.kafka.static_membership); each
  // consumer joins with its own group.instance.id, <this>-<group>-<index>
  // (common/kafka_member_id.h).
  std::string static_member_name;
  // Body references (issue 21, ReferenceTermsFor): the retention a topic
  // must have at least (queue.kafka.share_min_retention), and, when not 0,
  // the retention the operator states for every topic instead of asking the
  // brokers (queue.kafka.assume_retention).
  std::chrono::milliseconds share_min_retention{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds assume_retention{0};
};

class KafkaQueueImpl;

// Topic-level configuration for creating `spec` (retention.ms,
// retention.bytes, cleanup.policy when it has a Retention; empty otherwise).
std::vector<std::pair<std::string, std::string>> KafkaTopicConfig(const TopicSpec& spec);

class KafkaQueue : public Queue, public ReferenceTermsSource {
 public:
  // Creates the shared producer. Does not wait for the brokers: a broker that
  // is down shows as produce errors (and ingress answers 4xx) until it is back.
  static Result<std::unique_ptr<KafkaQueue>> Open(const KafkaQueueOptions& options);
  ~KafkaQueue() override;

  Status EnsureTopics(const std::vector<TopicSpec>& topics) override;
  Result<std::unique_ptr<Producer>> CreateProducer() override;
  Result<std::unique_ptr<Consumer>> CreateConsumer(const std::string& group,
                                                   const std::vector<std::string>& topics) override;
  Result<int32_t> PartitionCount(const std::string& topic) override;
  Result<OffsetRange> Offsets(const TopicPartition& tp) override;
  Result<std::vector<Record>> ReadRange(const TopicPartition& tp, int64_t from,
                                        size_t max_records) override;
  Status DeleteBefore(const TopicPartition& tp, int64_t offset) override;
  // One record through a dedicated assigned consumer (KafkaRecordReader).
  Result<Record> ReadRecord(const RecordRef& ref) override;
  // kRetained or kCopy (common/kafka_retention.h); never kPinned. Never
  // blocks: the topic's configuration is read in the background at the first
  // call for it (kCopy until then), once per process.
  ReferenceTerms ReferenceTermsFor(const std::string& topic) override;

 private:
  explicit KafkaQueue(std::shared_ptr<KafkaQueueImpl> impl);
  std::shared_ptr<KafkaQueueImpl> impl_;
};

}  // namespace sg::queue
