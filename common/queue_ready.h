// ReadyNotifier: an optional capability of a queue Consumer (common/queue.h)
// - being told when records are readable, instead of finding them by
// polling (issue 21, tail latency).
//
// For a member that polls from an event loop with timeout 0 (egress) rather
// than blocking in Poll: the ready callback is called whenever records of a
// partition the member owns (and has not paused) have become readable, right
// after they are durable, so the loop polls at once instead of at its next
// tick. A member that blocks in Poll does not need it (Poll wakes by itself).
//
// Implemented by both queues' consumers:
//   - embedded (common/embedded_queue.h): called by the writer thread after
//     the synced write, for members owning a written, unpaused partition.
//   - Kafka (common/kafka_queue.cc): called by a librdkafka thread when the
//     consumer's local queue goes from empty to not empty (librdkafka's
//     queue event). That is coarser: a rebalance or an error event calls it
//     too (a spurious wake-up: Poll finds no record), and records left in
//     the queue - a Poll that took max_records and left the rest - call it
//     no more until a Poll has emptied it. A caller keeps a slower fallback
//     poll for that (egress: its poll_interval tick).
// ReadyNotifierOf is null for a consumer that cannot notify (a test's
// wrapper): the caller polls at its interval.
//
// Threading: SetReadyCallback from any thread. The callback runs on a queue
// thread (the embedded queue's writer; a librdkafka thread holding its queue
// lock): it must be quick, must not block and must not call the consumer or
// the queue (post to the loop instead). Several records may share one call.
// It may run once more just after it was replaced or the consumer closed, so
// it must not own anything the consumer's owner frees first (capture shared
// state). Null clears it.
#pragma once

#include <functional>

#include "common/queue.h"

namespace sg::queue {

class ReadyNotifier {
 public:
  virtual ~ReadyNotifier() = default;
  virtual void SetReadyCallback(std::function<void()> ready) = 0;
};

// `consumer`'s notifier, or null when its queue cannot notify.
inline ReadyNotifier* ReadyNotifierOf(Consumer& consumer) {
  return dynamic_cast<ReadyNotifier*>(&consumer);
}

}  // namespace sg::queue
