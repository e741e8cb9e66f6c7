#include "workers/policy/policy_ca_wait.h"

#include <algorithm>

namespace sg::workers {

CaWaitDecision DecideCaWait(ErrorCode code, int64_t received_at_ms, int64_t now_ms,
                            std::chrono::milliseconds ca_wait, std::chrono::milliseconds retry) {
  CaWaitDecision d;
  switch (code) {
    case ErrorCode::kPermissionDenied:
      d.action = CaWaitAction::kUnsigned;
      d.reason = "ca_refused";
      return d;
    case ErrorCode::kCorruption:
      d.action = CaWaitAction::kUnsigned;
      d.reason = "ca_corruption";
      return d;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
      break;
    default:
      return d;  // kFail
  }
  const int64_t accepted = received_at_ms > 0 ? received_at_ms : now_ms;
  const int64_t deadline = accepted + ca_wait.count();
  if (now_ms >= deadline) {
    d.action = CaWaitAction::kUnsigned;
    d.reason = "ca_wait_expired";
    return d;
  }
  d.action = CaWaitAction::kWait;
  d.retry_at_ms = std::min(now_ms + std::max<int64_t>(retry.count(), 1), deadline);
  return d;
}

}  // namespace sg::workers
