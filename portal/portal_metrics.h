// The portal's Prometheus metrics (docs/operations.md "Metrics"):
//   smimegate_portal_messages_stored_total       new messages kept
//   smimegate_portal_duplicates_total            queue records already stored (redelivery)
//   smimegate_portal_notifications_total{kind}   notification | reset | code mails handed to egress
//   smimegate_portal_registrations_total
//   smimegate_portal_logins_total{result}        ok | failed | locked | totp_failed
//   smimegate_portal_downloads_total{kind}       attachment | eml | smime
//   smimegate_portal_replies_total
//   smimegate_portal_deleted_total{why}          reader | expired | admin
//   smimegate_portal_refused_total{why}          csrf | link | not_found | rate | connections | body |
//                                                forwarded_for
//   smimegate_portal_intake_errors_total         records that could not be stored (retried)
//   smimegate_portal_dead_letters_total          records kept on the dead-letter topic (not retried)
//   smimegate_portal_housekeeping_errors_total   expiry passes that failed or threw
//   smimegate_portal_request_seconds{page}       page latency
//   smimegate_portal_background_errors_total     reset-mail tasks that threw (logged, dropped)
//   smimegate_portal_store_messages, _store_bytes, _accounts   (gauges, at scrape)
//
// Threading: thread-safe (sg::metrics).
#pragma once

#include <functional>

#include "common/metrics.h"
#include "portal/portal_store.h"

namespace sg::portal {

class PortalMetrics {
 public:
  explicit PortalMetrics(metrics::Registry& registry);
  // The store gauges, read at scrape time.
  void WatchStore(std::function<StoreStats()> stats);

  metrics::Counter& stored;
  metrics::Counter& duplicates;
  metrics::Family<metrics::Counter>& notifications;
  metrics::Counter& registrations;
  metrics::Family<metrics::Counter>& logins;
  metrics::Family<metrics::Counter>& downloads;
  metrics::Counter& replies;
  metrics::Family<metrics::Counter>& deleted;
  metrics::Family<metrics::Counter>& refused;
  metrics::Counter& intake_errors;
  metrics::Counter& dead_letters;
  metrics::Counter& housekeeping_errors;
  metrics::Family<metrics::Histogram>& request_seconds;
  metrics::Counter& background_errors;

 private:
  metrics::Registry& registry_;
};

}  // namespace sg::portal
