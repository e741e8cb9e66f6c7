// Metrics of certificate discovery (docs/operations.md):
//
//   smimegate_discovery_lookups_total{source,result}  one per source asked
//       source: smimea, ldap; result: found, not_found,
//       not_validated, no_certificate, rejected (the harvest check refused
//       every candidate: wrong address, expired, untrusted chain), error,
//       timeout
//   smimegate_discovery_recipients_total{outcome}     one per outbound
//       recipient that needed discovery: found, none, waiting (the message
//       was set aside), deadline (it went on without: workers.discovery.max_wait),
//       overloaded (the lookup queue was full)
//
// Threading: thread-safe.
#pragma once

#include <string>

#include "common/metrics.h"

namespace sg::workers {

class DiscoveryMetrics {
 public:
  explicit DiscoveryMetrics(metrics::Registry& registry);
  void Lookup(const std::string& source, const std::string& result) {
    lookups_.WithLabels({source, result}).Inc();
  }
  void Recipient(const std::string& outcome) { recipients_.WithLabels({outcome}).Inc(); }

 private:
  metrics::Family<metrics::Counter>& lookups_;
  metrics::Family<metrics::Counter>& recipients_;
};

}  // namespace sg::workers
