// The `workers` section of the configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
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
  // A sender's first certificate while the CA is down (issue 18): the record
  // is set aside for ca_retry at a time, at most ca_wait from its acceptance,
  // then delivered unsigned (workers/policy/policy_ca_wait.h).
  std::chrono::milliseconds ca_wait{std::chrono::hours(1)};
  std::chrono::milliseconds ca_retry{std::chrono::minutes(1)};
  // A deliver record whose message is the one it came from, byte for byte,
  // refers to that record's body instead of copying it (issue 21,
  // common/queue_body_ref.h). The embedded queue pins the source record;
  // the Kafka mode refers only to a topic whose retention is known to be
  // long enough (queue.kafka.share_min_retention). Either refers only to
  // bodies of at least share_bodies_min_bytes: below that, writing the copy
  // costs less than the reference (embedded: the pin's bookkeeping and
  // egress's read back; Kafka: egress fetching the record back by offset).
  // Unset: the measured default of the mode (MinShareBytes,
  // docs/benchmarks.md).
  bool share_bodies = true;
  std::optional<uint64_t> share_bodies_min_bytes;
  static constexpr uint64_t kSharePinnedMinBytes = 32 * 1024;
  static constexpr uint64_t kShareRetainedMinBytes = 512 * 1024;
  // share_bodies_min_bytes, or the default of a queue that pins (embedded)
  // or retains (Kafka).
  uint64_t MinShareBytes(bool pinned) const {
    if (share_bodies_min_bytes) return *share_bodies_min_bytes;
    return pinned ? kSharePinnedMinBytes : kShareRetainedMinBytes;
  }
  // How often the lag metric is refreshed (not a configuration key; tests
  // shorten it).
  std::chrono::milliseconds lag_interval{5'000};
};

Result<WorkerConfig> ParseWorkerConfig(const config::ConfigNode& section);

}  // namespace sg::workers
