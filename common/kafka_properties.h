// Settings of smimegate's Kafka clients that a user may not change (issue 24).
//
// queue.kafka.properties are passed to librdkafka as they are, after
// smimegate's own settings; a key smimegate sets itself (bootstrap.servers,
// acks, group.id, partition.assignment.strategy, ... and their librdkafka
// aliases) would silently replace what the code relies on (idempotence,
// explicit commits, its assignment strategy). CheckKafkaProperties makes such
// a key an error naming it (and the config key to use instead, if any), at
// configuration parsing (common/queue_config.cc: `smimegate check-config`
// and every start) and again when a KafkaQueue opens.
//
// A pure function; thread-safe.
#pragma once

#include <map>
#include <string>

#include "common/result.h"

namespace sg::queue {

Status CheckKafkaProperties(const std::map<std::string, std::string>& properties);

}  // namespace sg::queue
