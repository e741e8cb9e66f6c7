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
// Implemented by the embedded queue's consumers (common/embedded_queue.h);
// the Kafka queue's consumers do not implement it (ReadyNotifierOf is null):
// there the caller keeps polling at its interval.
//
// Threading: SetReadyCallback from any thread. The callback runs on a queue
// thread (the embedded queue's writer): it must be quick, must not block and
// must not call the consumer (post to the loop instead). Several records may
// share one call. It may run once more just after it was replaced or the
// consumer closed, so it must not own anything the consumer's owner frees
// first (capture shared state). Null clears it.
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
