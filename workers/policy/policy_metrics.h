// Metrics of the worker policy: one count per decision, by action.
//
//   smimegate_policy_recipients_total{direction,action}  one per recipient and decision
//       actions: signed, encrypted, signed_encrypted, passed, bounced,
//       web_encryption, decrypted, verified, quarantined
//   smimegate_policy_encrypted_total{method}              personal | domain
//   smimegate_policy_verified_total{status}               good, bad_signature, untrusted...
//   smimegate_policy_harvest_total{outcome}               stored, unchanged, pending, rejected,
//   error smimegate_policy_bounces_total{reason}                forced_no_certificate,
//   undecryptable, ... smimegate_policy_forms_total{direction}               output records (one
//   per delivery form) smimegate_policy_quarantined_total{reason}            content_key_replayed
//   smimegate_policy_decrypt_failures_total{reason}       no_key, refused_algorithm, not_mime,
//                                                         decrypt_failed, malformed, too_deep
//   smimegate_policy_dsn_suppressed_total{reason}         not-wanted, already-sent, rate-limited
//   smimegate_policy_ca_wait_total{outcome}               set_aside, ca_refused, ca_corruption,
//                                                         ca_wait_expired (no signing identity)
//   smimegate_policy_header_protection_total{direction,result}  RFC 9788: outbound cipher,
//                                                         clear, error; inbound restored,
//                                                         spoofed, malformed
//
// Threading: thread-safe (metrics::Registry children are atomic).
#pragma once

#include <string>

#include "common/metrics.h"

namespace sg::workers {

class PolicyMetrics {
 public:
  explicit PolicyMetrics(metrics::Registry& registry);

  void Recipient(const std::string& direction, const std::string& action) {
    recipients_.WithLabels({direction, action}).Inc();
  }
  void Encrypted(const std::string& method) { encrypted_.WithLabels({method}).Inc(); }
  void Verified(const std::string& status) { verified_.WithLabels({status}).Inc(); }
  void Harvest(const std::string& outcome) { harvest_.WithLabels({outcome}).Inc(); }
  void Bounce(const std::string& reason) { bounces_.WithLabels({reason}).Inc(); }
  void Form(const std::string& direction) { forms_.WithLabels({direction}).Inc(); }
  void Quarantined(const std::string& reason) { quarantined_.WithLabels({reason}).Inc(); }
  void DecryptFailure(const std::string& reason) { decrypt_failures_.WithLabels({reason}).Inc(); }
  void DsnSuppressed(const std::string& reason) { dsn_suppressed_.WithLabels({reason}).Inc(); }
  void CaWait(const std::string& outcome) { ca_wait_.WithLabels({outcome}).Inc(); }
  void HeaderProtection(const std::string& direction, const std::string& result) {
    header_protection_.WithLabels({direction, result}).Inc();
  }

 private:
  metrics::Family<metrics::Counter>& recipients_;
  metrics::Family<metrics::Counter>& encrypted_;
  metrics::Family<metrics::Counter>& verified_;
  metrics::Family<metrics::Counter>& harvest_;
  metrics::Family<metrics::Counter>& bounces_;
  metrics::Family<metrics::Counter>& forms_;
  metrics::Family<metrics::Counter>& quarantined_;
  metrics::Family<metrics::Counter>& decrypt_failures_;
  metrics::Family<metrics::Counter>& dsn_suppressed_;
  metrics::Family<metrics::Counter>& ca_wait_;
  metrics::Family<metrics::Counter>& header_protection_;
};

}  // namespace sg::workers
