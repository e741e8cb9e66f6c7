#include "portal/portal_expiry.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace sg::portal {

Result<ExpiryReport> RunExpiry(PortalStore& store, const PortalConfig& config, const Clock& clock,
                               PortalMetrics* metrics) {
  ExpiryReport report;
  const int64_t now = clock.NowMs();
  while (true) {
    SG_ASSIGN_OR_RETURN(auto batch, store.Expired(now, 500));
    for (const auto& m : batch) {
      Status s = store.DeleteMessage(m.recipient(), m.id());
      if (!s.ok() && s.error().code != ErrorCode::kNotFound) return s.error();
      ++report.messages;
      if (metrics != nullptr) metrics->deleted.WithLabels({"expired"}).Inc();
      spdlog::info("portal expired message_id={} rcpt=<{}> id={}", m.queue_message_id(),
                   m.recipient(), m.id());
    }
    if (batch.size() < 500) break;
  }
  // A link's record stays a day past its expiry, so a late click still
  // reads "used or expired" rather than "unknown" (the same page anyway).
  SG_ASSIGN_OR_RETURN(report.tokens, store.SweepTokens(now - 24 * 3600 * 1000LL));
  SG_ASSIGN_OR_RETURN(report.sessions, store.SweepSessions(now - config.session_idle.count()));
  SG_ASSIGN_OR_RETURN(report.audit, store.DeleteAuditBefore(now - config.audit_retention.count()));
  SG_ASSIGN_OR_RETURN(report.tombstones, store.SweepTombstones(now));
  return report;
}

Result<ExpiryReport> NotifyPending(PortalStore& store, const Clock& clock, int64_t min_age_ms,
                                   const std::function<Status(const pb::StoredMessage&)>& notify) {
  ExpiryReport report;
  const int64_t before = clock.NowMs() - min_age_ms;
  std::string cursor;
  while (true) {
    SG_ASSIGN_OR_RETURN(auto page, store.ScanMessages(cursor, 500));
    for (const auto& m : page) {
      if (m.notified() || m.stored_at_ms() > before) continue;
      if (Status s = notify(m); !s.ok()) {
        spdlog::warn("portal: notifying message_id={} rcpt=<{}> id={} later failed: {}",
                     m.queue_message_id(), m.recipient(), m.id(), s.error().ToString());
        continue;
      }
      ++report.notified;
      spdlog::info("portal: message_id={} rcpt=<{}> id={} notified by the housekeeping",
                   m.queue_message_id(), m.recipient(), m.id());
    }
    if (page.size() < 500) break;
    cursor = ScanCursor(page.back());
  }
  return report;
}

bool RunHousekeepingPass(const std::function<Result<ExpiryReport>()>& pass,
                         metrics::Counter& errors) noexcept {
  try {
    auto report = pass();
    if (report.ok()) return true;
    spdlog::warn("portal: expiry: {}", report.error().ToString());
  } catch (const std::exception& e) {
    spdlog::error("portal: expiry: exception: {}", e.what());
  } catch (...) {
    spdlog::error("portal: expiry: unknown exception");
  }
  errors.Inc();
  return false;
}

}  // namespace sg::portal
