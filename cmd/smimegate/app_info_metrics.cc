#include "cmd/smimegate/app_info_metrics.h"

#include <spdlog/spdlog.h>

#include "common/tls_cert_expiry.h"
#include "common/version.h"

namespace sg::app {

void ExportBuildInfo(metrics::Registry& registry) {
  registry
      .AddGauge("smimegate_build_info",
                "Always 1; the labels name the build: version (CMake project) and revision "
                "(git describe)",
                {"version", "revision"})
      .WithLabels({std::string(ProjectVersion()), std::string(GitDescribe())})
      .Set(1);
}

void ExportCertificateExpiry(metrics::Registry& registry, const CertificateSources& sources) {
  auto& family = registry.AddGauge(
      "smimegate_certificate_not_after_timestamp_seconds",
      "When our certificates expire (notAfter, unix seconds): TLS listeners, the keyservice's "
      "and portal's TLS files, the CA root and issuing certificates",
      {"kind", "name"});
  for (const auto& f : sources.files) {
    auto t = tls::PemFileNotAfter(f.path);
    if (!t.ok()) {
      spdlog::warn("certificate expiry of {} {}: {}", f.kind, f.name, t.error().message);
      continue;
    }
    family.WithLabels({f.kind, f.name}).Set(static_cast<double>(*t));
  }
  if (sources.ca == nullptr) return;
  for (const auto& ca : sources.ca->all) {
    for (const auto& [kind, der] : {std::pair<const char*, const std::string&>{"ca_root", ca.root_der},
                                    std::pair<const char*, const std::string&>{"ca_issuing", ca.issuing_der}}) {
      if (der.empty()) continue;
      auto t = tls::DerNotAfter(der);
      if (!t.ok()) {
        spdlog::warn("certificate expiry of {} {}: {}", kind, ca.label, t.error().message);
        continue;
      }
      family.WithLabels({kind, ca.label}).Set(static_cast<double>(*t));
    }
  }
}

}  // namespace sg::app
