// The test address of the gateway (issue 24): section `workers.test_address`.
//
// Mail to this address is not delivered: the worker answers its sender with
// a report of how the message arrived and what the policy would do with it
// (workers/policy/policy_test_address_processor.h, docs/setup/README.md).
// Off by default. Threading: plain values, read-only after parsing.
#pragma once

#include <string>

#include "common/config_node.h"
#include "common/keyed_rate_limit.h"
#include "common/result.h"

namespace sg::workers {

struct TestAddressConfig {
  bool enabled = false;
  std::string address;  // normalised (common/mail/address.h); required when enabled
  // Reports per envelope sender (rate_limit.per_sender per rate_limit.interval)
  // and per worker process over all senders (rate_limit.total).
  KeyedRateLimit per_sender{5, std::chrono::hours(1)};
  KeyedRateLimit total{200, std::chrono::hours(1)};
};

// Errors name the key: "config workers.test_address.address: ...".
Result<TestAddressConfig> ParseTestAddressConfig(const config::ConfigNode& section);

}  // namespace sg::workers
