// What a worker does with one message: the seam between the consumer loop
// (workers/worker_pool.h) and the policy (signing, encryption, decryption).
//
// Process() turns one record from the inbound or outbound topic into the
// records to publish on the deliver topic: one per delivery form (a message
// whose recipients need different forms is split; each output carries only
// its own recipients). Returning an empty vector is allowed only when every
// recipient is accounted for another way (e.g. bounced: the bounce itself is
// an output record).
//
// Errors: a transient error (IsTransient) makes the pool retry the record
// later; any other error sends it to the dead-letter topic with the message
// as reason. Process must not throw.
//
// Threading: called concurrently from several worker threads; implementations
// are thread-safe.
#pragma once

#include <vector>

#include "common/result.h"
#include "proto/envelope.pb.h"

namespace sg::workers {

class MessageProcessor {
 public:
  virtual ~MessageProcessor() = default;
  virtual Result<std::vector<smimegate::v1::MessageRecord>> Process(
      smimegate::v1::MessageRecord record) = 0;
};

// Delivers every message as it came: the stage before the policy exists, and
// the `[plain]` path.
class PassThroughProcessor : public MessageProcessor {
 public:
  Result<std::vector<smimegate::v1::MessageRecord>> Process(
      smimegate::v1::MessageRecord record) override;
};

}  // namespace sg::workers
