#include "workers/dkim/dkim_metrics.h"

namespace sg::dkim {

DkimMetrics::DkimMetrics(metrics::Registry& registry)
    : messages_(registry.AddCounter(
          "smimegate_dkim_messages_total",
          "Outbound delivery forms by DKIM outcome: signed, or why not (off, unmodified, no_from, "
          "no_key, key_error, sign_error).",
          {"result"})) {}

}  // namespace sg::dkim
