#include "keyservice/keyservice_metrics.h"

namespace sg::keyservice {

KeyServiceMetrics::KeyServiceMetrics(metrics::Registry& registry)
    : certificates_issued(registry.AddCounter("smimegate_keyservice_certificates_issued_total",
                                              "Certificates issued, by reason", {"reason"})),
      harvested(registry.AddCounter("smimegate_keyservice_harvested_certificates_total",
                                    "Certificates from inbound mail, by outcome", {"outcome"})),
      keys_imported(registry.AddCounter("smimegate_keyservice_keys_imported_total",
                                        "PKCS#12 keys imported").Get()),
      rollover_runs(registry.AddCounter("smimegate_keyservice_rollover_runs_total",
                                        "Rollover scheduler passes").Get()),
      errors(registry.AddCounter("smimegate_keyservice_errors_total",
                                 "Failed keyservice calls, by method and error code",
                                 {"method", "code"})),
      ca_failures(registry.AddCounter("smimegate_keyservice_ca_failures_total",
                                      "Certificate requests the CA refused or did not answer, "
                                      "by reason and error code",
                                      {"reason", "code"})),
      issue_seconds(registry.AddHistogram("smimegate_keyservice_issue_seconds",
                                          "Time to generate a key and issue its certificate", {},
                                          metrics::LatencyBuckets()).Get()),
      unvalidated_domains(registry.AddGauge("smimegate_keyservice_unvalidated_domains",
                                            "Hosted domains served by a public CA backend "
                                            "without a valid domain validation").Get()),
      refused_unvalidated(registry.AddCounter("smimegate_keyservice_ca_refused_unvalidated_total",
                                              "Certificate requests refused because the "
                                              "domain has no valid domain validation").Get()) {}

}  // namespace sg::keyservice
