// Retry schedule: exponential backoff with a cap, and expiry.
//
// Threading: plain functions of their arguments.
#pragma once

#include <cstdint>

#include "egress/egress_config.h"

namespace sg::egress {

// Delay before attempt `attempts_done + 1`, after `attempts_done` (>= 1)
// failed attempts: initial * multiplier^(attempts_done-1), capped at max_interval.
int64_t RetryDelayMs(const RetryConfig& retry, uint32_t attempts_done);

// True when a message first tried at first_attempt_ms must not be retried
// any more at now_ms (a DSN with status 4.4.7 follows).
bool RetryExpired(const RetryConfig& retry, int64_t first_attempt_ms, int64_t now_ms);

}  // namespace sg::egress
