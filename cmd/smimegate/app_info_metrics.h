// Process-level gauges every stage exports (docs/operations.md "Metric
// reference"):
//   smimegate_build_info{version,revision} 1 - which build runs (alerts can
//     compare versions across pods);
//   smimegate_certificate_not_after_timestamp_seconds{kind,name} - when our
//     certificates expire, unix seconds: kind "tls_listener" (name: the
//     ingress listener), "tls_keyservice" / "tls_portal" (configured files),
//     "ca_root" / "ca_issuing" (name: "default" or the CA's domain). Bounded
//     labels: per listener and CA, never per user. Alerts:
//     deploy/k8s/monitoring/prometheusrule.yaml.
//
// Threading: call from the thread that starts the app.
#pragma once

#include <string>
#include <vector>

#include "common/metrics.h"
#include "keyservice/key_admin.h"

namespace sg::app {

void ExportBuildInfo(metrics::Registry& registry);

struct CertificateFile {
  std::string kind;  // label "kind"
  std::string name;  // label "name"
  std::string path;  // PEM; the first certificate (the leaf) counts
};

struct CertificateSources {
  std::vector<CertificateFile> files;
  const keyservice::CaCertificates* ca = nullptr;  // null: not a keyservice stage
};

// Sets one sample per certificate that can be read; an unreadable one is
// logged and left out (check-config reports it).
void ExportCertificateExpiry(metrics::Registry& registry, const CertificateSources& sources);

}  // namespace sg::app
