// What the outbound policy does when the sender's signing identity cannot be
// had from the keyservice (a new user's first certificate and the CA is
// down or refuses; issue 18 "Failure handling").
//
//   - unavailable / timeout (the CA or the keyservice is down): the record
//     waits, set aside on its topic until `retry_at_ms` (the worker puts it
//     back with header sg-not-before; it does not block its partition), for
//     at most `ca_wait` counted from the record's acceptance (received_at_ms);
//     after that it is delivered as if the sender had no signing identity;
//   - permission_denied (the CA refused, e.g. a domain not validated) or
//     corruption (the CA's answer failed our checks, or a sealed key does not
//     open): delivered as if the sender had no signing identity, at once;
//   - anything else: an error, as before (dead letter).
// "No signing identity" means the decision table's unsigned forms: encrypted
// when the recipient has a certificate, plain otherwise, and a forced
// encryption (admin rule or tag) still bounces rather than send plain.
//
// Pure function: no clock, no I/O; threading: none.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace sg::workers {

enum class CaWaitAction { kWait, kUnsigned, kFail };

struct CaWaitDecision {
  CaWaitAction action = CaWaitAction::kFail;
  std::string reason;       // metric label: ca_refused | ca_corruption | ca_wait_expired
  int64_t retry_at_ms = 0;  // kWait: when to try again (unix ms)
};

// `received_at_ms` 0 (unknown) counts as `now_ms`.
CaWaitDecision DecideCaWait(ErrorCode code, int64_t received_at_ms, int64_t now_ms,
                            std::chrono::milliseconds ca_wait, std::chrono::milliseconds retry);

}  // namespace sg::workers
