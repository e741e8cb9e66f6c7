// Metrics of outbound DKIM signing (docs/dkim.md):
//
//   smimegate_dkim_messages_total{result}   one per outbound delivery form:
//       signed | off | unmodified | no_from | no_key (the decision), or
//       key_error (the keyservice's key did not open or load) |
//       sign_error (libopendkim failed): both sent without DKIM
//
// Threading: thread-safe (metrics::Registry children are atomic).
#pragma once

#include <string_view>

#include "common/metrics.h"

namespace sg::dkim {

class DkimMetrics {
 public:
  explicit DkimMetrics(metrics::Registry& registry);
  void Count(std::string_view result) { messages_.WithLabels({std::string(result)}).Inc(); }

 private:
  metrics::Family<metrics::Counter>& messages_;
};

}  // namespace sg::dkim
