// Metrics of the test address (issue 24):
//
//   smimegate_test_address_messages_total{result}  messages to the test address:
//       answered, null_sender, auto_submitted, loop, rate_limited
//
// Registered whether or not the test address is enabled (the family list
// of `smimegate run` is fixed: tests/cmd/metric_families.txt).
//
// Threading: thread-safe (metrics::Registry children are atomic).
#pragma once

#include <string>
#include <string_view>

#include "common/metrics.h"

namespace sg::workers {

class TestAddressMetrics {
 public:
  explicit TestAddressMetrics(metrics::Registry& registry)
      : messages_(registry.AddCounter(
            "smimegate_test_address_messages_total",
            "Messages to the test address (workers.test_address), by result: answered with a "
            "report, or not answered (null_sender, auto_submitted, loop, rate_limited)",
            {"result"})) {}

  void Message(std::string_view result) { messages_.WithLabels({std::string(result)}).Inc(); }

 private:
  metrics::Family<metrics::Counter>& messages_;
};

}  // namespace sg::workers
