#include "portal/portal_metrics.h"

namespace sg::portal {

PortalMetrics::PortalMetrics(metrics::Registry& r)
    : stored(r.AddCounter("smimegate_portal_messages_stored_total",
                          "Web-encrypted messages kept in the portal").Get()),
      duplicates(r.AddCounter("smimegate_portal_duplicates_total",
                              "Portal queue records that were stored already (redelivery)")
                     .Get()),
      notifications(r.AddCounter("smimegate_portal_notifications_total",
                                 "Mails the portal handed to egress", {"kind"})),
      registrations(r.AddCounter("smimegate_portal_registrations_total",
                                 "Recipients who registered").Get()),
      logins(r.AddCounter("smimegate_portal_logins_total", "Portal logins by result", {"result"})),
      downloads(r.AddCounter("smimegate_portal_downloads_total", "Portal downloads by kind",
                             {"kind"})),
      replies(r.AddCounter("smimegate_portal_replies_total", "Replies sent from the portal").Get()),
      deleted(r.AddCounter("smimegate_portal_deleted_total", "Portal messages deleted", {"why"})),
      refused(r.AddCounter("smimegate_portal_refused_total",
                           "Portal requests refused (csrf, link, not_found, rate)", {"why"})),
      intake_errors(r.AddCounter("smimegate_portal_intake_errors_total",
                                 "Portal records that could not be stored yet").Get()),
      dead_letters(r.AddCounter("smimegate_portal_dead_letters_total",
                                "Portal records kept on the dead-letter topic with a reason")
                       .Get()),
      housekeeping_errors(r.AddCounter("smimegate_portal_housekeeping_errors_total",
                                       "Portal expiry passes that failed or threw")
                              .Get()),
      request_seconds(r.AddHistogram("smimegate_portal_request_seconds",
                                     "Portal page latency", {"page"}, metrics::LatencyBuckets())),
      background_errors(r.AddCounter("smimegate_portal_background_errors_total",
                                     "Portal background tasks (reset mails) that threw").Get()),
      registry_(r) {}

void PortalMetrics::WatchStore(std::function<StoreStats()> stats) {
  auto shared = std::make_shared<std::function<StoreStats()>>(std::move(stats));
  registry_.AddCallbackGauge("smimegate_portal_store_messages", "Messages in the portal store", {},
                             [shared] {
                               return std::vector<metrics::Sample>{
                                   {{}, static_cast<double>((*shared)().messages)}};
                             });
  registry_.AddCallbackGauge("smimegate_portal_store_bytes",
                             "Sealed content bytes in the portal store", {}, [shared] {
                               return std::vector<metrics::Sample>{
                                   {{}, static_cast<double>((*shared)().bytes)}};
                             });
  registry_.AddCallbackGauge("smimegate_portal_accounts", "Registered portal recipients", {},
                             [shared] {
                               return std::vector<metrics::Sample>{
                                   {{}, static_cast<double>((*shared)().accounts)}};
                             });
}

}  // namespace sg::portal
