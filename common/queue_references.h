// References instead of copies (issue 21, "the body written once";
// docs/architecture.md): on what terms a record may refer to a record of
// another topic instead of copying its data, in each queue mode.
//
//   kPinned   (embedded) the referring record carries OutRecord::pins; the
//             referred record stays until the pinning record is removed
//             (common/queue.h, "Pins").
//   kRetained (Kafka) no pin: the referred topic keeps every record for at
//             least its retention, known (DescribeConfigs, or stated in
//             queue.kafka.assume_retention) to be no shorter than
//             queue.kafka.share_min_retention and not cut by size or
//             compaction (common/kafka_retention.h). The referring record
//             carries a digest of the data. A reader that comes later than
//             the retention finds the record gone (Queue::ReadRecord:
//             kNotFound) and must treat that as a failure of its own record
//             (egress dead-letters it), never skip it.
//   kCopy     referring is not safe (`reason` says why): copy the data.
//
// The Queue interface itself stays as it is (SupportsPins, ReadRecord): a
// queue whose terms are more than "pins or nothing" also implements
// ReferenceTermsSource (KafkaQueue does).
//
// Threading: ReferenceTermsFor from any thread; never blocks on I/O.
#pragma once

#include <string>

#include "common/queue.h"

namespace sg::queue {

enum class ReferenceMode { kCopy, kPinned, kRetained };

struct ReferenceTerms {
  ReferenceMode mode = ReferenceMode::kCopy;
  std::string reason;  // kCopy: why; otherwise what the guarantee rests on
  // kCopy for now only: the queue is still finding out (Kafka asks the
  // brokers in the background); ask again later.
  bool pending = false;
};

// Implemented by a Queue whose reference terms depend on the topic (Kafka).
class ReferenceTermsSource {
 public:
  virtual ~ReferenceTermsSource() = default;
  virtual ReferenceTerms ReferenceTermsFor(const std::string& topic) = 0;
};

// The terms `queue` offers for records of `topic`: its own when it is a
// ReferenceTermsSource, otherwise kPinned when it SupportsPins() and kCopy
// when not. Asked per record by the workers: cheap.
ReferenceTerms ReferenceTermsFor(Queue& queue, const std::string& topic);

}  // namespace sg::queue
