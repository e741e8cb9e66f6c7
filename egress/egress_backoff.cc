#include "egress/egress_backoff.h"

namespace sg::egress {

int64_t RetryDelayMs(const RetryConfig& retry, uint32_t attempts_done) {
  const int64_t cap = retry.max_interval.count();
  int64_t delay = retry.initial.count();
  for (uint32_t i = 1; i < attempts_done && delay < cap; ++i) delay *= retry.multiplier;
  return delay < cap ? delay : cap;
}

bool RetryExpired(const RetryConfig& retry, int64_t first_attempt_ms, int64_t now_ms) {
  return now_ms - first_attempt_ms >= retry.max_age.count();
}

}  // namespace sg::egress
