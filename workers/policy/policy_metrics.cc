#include "workers/policy/policy_metrics.h"

namespace sg::workers {

PolicyMetrics::PolicyMetrics(metrics::Registry& registry)
    : recipients_(registry.AddCounter("smimegate_policy_recipients_total",
                                      "Policy decisions, one per message recipient, by action.",
                                      {"direction", "action"})),
      encrypted_(registry.AddCounter("smimegate_policy_encrypted_total",
                                     "Recipients encrypted for, by certificate kind.", {"method"})),
      verified_(registry.AddCounter("smimegate_policy_verified_total",
                                    "Inbound signatures verified, by result.", {"status"})),
      harvest_(registry.AddCounter("smimegate_policy_harvest_total",
                                   "Signer certificates offered to the keyservice, by outcome.",
                                   {"outcome"})),
      bounces_(registry.AddCounter("smimegate_policy_bounces_total",
                                   "Recipients returned to the sender by the policy, by reason.",
                                   {"reason"})),
      forms_(registry.AddCounter("smimegate_policy_forms_total",
                                 "Delivery forms published (a message may split into several).",
                                 {"direction"})) {}

}  // namespace sg::workers
