// Retention (docs/portal.md "Retention"): a message is deleted when its
// domain's retention (portal.domains[].retention, default 90 days) has
// passed since it was stored; used or expired links, idle sessions and
// audit records older than portal.audit_retention (default 180 days) go
// too. Run every minute by the portal service and on demand by
// `smimegatectl portal purge --expired`.
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
};

Result<ExpiryReport> RunExpiry(PortalStore& store, const PortalConfig& config, const Clock& clock,
                               PortalMetrics* metrics);

// One pass of the service's housekeeping thread (review R11): an error or
// an exception out of `pass` is logged and counted in `errors`
// (smimegate_portal_housekeeping_errors_total), never thrown, so the
// thread goes on and `smimegate run` is not terminated. False when it failed.
bool RunHousekeepingPass(const std::function<Result<ExpiryReport>()>& pass,
                         metrics::Counter& errors) noexcept;

}  // namespace sg::portal
