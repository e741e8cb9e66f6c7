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
                                 {"direction"})),
      quarantined_(registry.AddCounter(
          "smimegate_policy_quarantined_total",
          "Inbound messages kept in quarantine (dead-letter topic), not decrypted, no DSN.",
          {"reason"})),
      decrypt_failures_(registry.AddCounter(
          "smimegate_policy_decrypt_failures_total",
          "Inbound recipients whose encrypted layer was not opened, by cause (never shown to "
          "the sender).",
          {"reason"})),
      dsn_suppressed_(registry.AddCounter(
          "smimegate_policy_dsn_suppressed_total",
          "Failure DSNs for undecryptable mail not sent, by reason.", {"reason"})),
      ca_wait_(registry.AddCounter(
          "smimegate_policy_ca_wait_total",
          "Outbound records whose sender's signing identity the keyservice could not give: set "
          "aside to wait for the CA, or sent without a signature (refused, corrupt, waited "
          "workers.ca_wait).",
          {"outcome"})),
      header_protection_(registry.AddCounter(
          "smimegate_policy_header_protection_total",
          "RFC 9788 header protection: outbound payloads protected (cipher, clear) or not "
          "(error); inbound protected headers restored, spoofed (not restored) or malformed.",
          {"direction", "result"})) {}

}  // namespace sg::workers
