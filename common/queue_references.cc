#include "common/queue_references.h"

namespace sg::queue {

ReferenceTerms ReferenceTermsFor(Queue& queue, const std::string& topic) {
  if (auto* source = dynamic_cast<ReferenceTermsSource*>(&queue)) {
    return source->ReferenceTermsFor(topic);
  }
  if (queue.SupportsPins()) return {ReferenceMode::kPinned, "records of " + topic + " are pinned"};
  return {ReferenceMode::kCopy, "this queue keeps no pinned records and states no retention"};
}

}  // namespace sg::queue
