// Retention (docs/portal.md "Retention"): a message is deleted when its
// domain's retention (portal.domains[].retention, default 90 days) has
// passed since it was stored; used or expired links, idle sessions and
// audit records older than portal.audit_retention (default 180 days) go
// too, and so do the tombstones of deleted messages (their source keys,
// kept until the message's expiry so a redelivered record does not store
// it again). Run every minute by the portal service and on demand by
// `smimegatectl portal purge --expired`.
//
// NotifyPending (review R13): a message stored but never notified (its
// record was dead-lettered after the store write, e.g. the notification
// failed for good and nobody replayed the dead letter) gets its
// notification from the housekeeping thread, once it is older than
// `min_age_ms` (so the intake's own hand-over is never raced).
//
// Threading: thread-safe (the store is); one run at a time is enough.
#pragma once

#include <cstddef>
#include <functional>

#include "common/result.h"
#include "common/clock.h"
#include "portal/portal_config.h"
#include "portal/portal_metrics.h"
#include "portal/portal_store.h"

namespace sg::portal {

struct ExpiryReport {
  size_t messages = 0;
  size_t tokens = 0;
  size_t sessions = 0;
  size_t audit = 0;  // audit records past portal.audit_retention
  size_t tombstones = 0;
  size_t notified = 0;  // NotifyPending
};

Result<ExpiryReport> RunExpiry(PortalStore& store, const PortalConfig& config, const Clock& clock,
                               PortalMetrics* metrics);

// Calls `notify` for every stored message that is not notified and was
// stored at least `min_age_ms` before now; counts the ones that succeeded
// in report.notified (a failure is logged and the next message tried).
Result<ExpiryReport> NotifyPending(PortalStore& store, const Clock& clock, int64_t min_age_ms,
                                   const std::function<Status(const pb::StoredMessage&)>& notify);

// One pass of the service's housekeeping thread (review R11): an error or
// an exception out of `pass` is logged and counted in `errors`
// (smimegate_portal_housekeeping_errors_total), never thrown, so the
// thread goes on and `smimegate run` is not terminated. False when it failed.
bool RunHousekeepingPass(const std::function<Result<ExpiryReport>()>& pass,
                         metrics::Counter& errors) noexcept;

}  // namespace sg::portal
