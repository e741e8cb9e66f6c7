// Whether a Kafka topic keeps its records long enough for another record to
// refer to them instead of copying them (issue 21, "the body written once";
// common/queue_references.h ReferenceMode::kRetained).
//
// Kafka deletes by time and size, whatever refers to a record: a deliver
// record may name an inbound record's body only when the inbound topic's
// configuration guarantees that body for longer than any deliver record can
// wait for its first poll. KafkaRetentionTerms is the pure decision (table
// tested); DescribeTopicConfig reads a topic's configuration with the Admin
// API (DescribeConfigs) once at start-up.
//
// Threading: pure function / one blocking call with its own timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "common/queue_references.h"
#include "common/result.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace sg::queue {

// The terms for referring to records of `topic`, from its effective
// configuration (`config`: retention.ms, retention.bytes, cleanup.policy as
// DescribeConfigs returns them). kRetained only when cleanup.policy is
// exactly "delete" (compaction removes a record once a later one has its
// key, as a retry does), retention.bytes is -1 (a burst could otherwise push
// any record out) and retention.ms is -1 or at least `min_retention`;
// otherwise kCopy with a reason naming the setting and the fix.
ReferenceTerms KafkaRetentionTerms(const std::string& topic,
                                   const std::map<std::string, std::string>& config,
                                   std::chrono::milliseconds min_retention);

// The configuration of `topic` (every entry DescribeConfigs returns), from
// the cluster `rk` talks to. Errors: kTimeout, kPermissionDenied (ACLs),
// kUnsupported / kUnavailable (a broker that does not answer DescribeConfigs,
// such as librdkafka's mock cluster); kCancelled when `cancel` became true
// while waiting (checked every 100 ms).
Result<std::map<std::string, std::string>> DescribeTopicConfig(rd_kafka_t* rk,
                                                               const std::string& topic,
                                                               std::chrono::milliseconds timeout,
                                                               const std::atomic<bool>& cancel);

}  // namespace sg::queue
