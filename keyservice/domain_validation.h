// DomainValidation: proof by DNS that the operator controls a hosted domain,
// which a public CA backend requires before it certifies the domain's
// addresses (docs/keyservice.md "Domain validation").
//
// Flow: Start(domain) makes a random token (160 bits) and the TXT record to
// publish, `_smimegate-challenge.<domain>` with the value
// `smimegate-domain-validation=<token>`; state "pending". CheckDue (called
// by the keyservice scheduler) looks the record up for every domain whose
// check is due:
//   - found: "valid" with validated_at = now, valid until now + valid_for,
//     re-checked at now + recheck_after (before valid_for ends);
//   - pending and not found, or a DNS error: retried with exponential
//     backoff (retry_initial doubling up to retry_max); a pending domain not
//     found within pending_timeout is "failed";
//   - a re-check of a valid domain that finds the record changed or gone:
//     "failed" at once; a DNS error keeps it valid and retries with backoff
//     until valid_until, after which it is "failed" (expired).
// A failed domain is not checked again until Start makes a new token.
// The state lives in the domain's store record, so a restart keeps it.
//
// Metrics: smimegate_keyservice_domain_checks_total{result}
// (found | missing | changed | dns_error).
//
// Threading: thread-safe; one mutex serialises every read-modify-write of a
// domain record (Update is how the keyservice changes other fields of it).
// CheckDue blocks on DNS (TxtResolver) while holding no lock.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "keyservice/dns_txt.h"
#include "keyservice/key_store.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

inline constexpr const char* kValidationPrefix = "smimegate-domain-validation=";

// The TXT record name and value for a domain and token.
std::string ChallengeRecordName(const DomainValidationConfig& config, const std::string& domain);
std::string ChallengeRecordValue(const std::string& token);

class DomainValidation {
 public:
  DomainValidation(KeyStore& store, TxtResolver& resolver, const Clock& clock,
                   DomainValidationConfig config, metrics::Registry& registry);

  // Starts the validation of a hosted, normalised domain, or returns the
  // running one (pending or valid: same token, so the record to publish
  // does not change); a failed or never validated domain gets a new token.
  // kNotFound when the domain is not hosted.
  Result<store::StoredDomain> Start(const std::string& domain);

  // Checks every pending or valid domain whose check is due now; returns
  // how many were checked. Store errors end the pass.
  Result<int> CheckDue();

  // Valid now: state "valid" and not past valid_until.
  bool IsValid(const store::StoredDomain& domain) const;
  bool IsValid(const std::string& domain);

  // The earliest next_check_at of a pending or valid domain (scheduler).
  std::optional<std::chrono::system_clock::time_point> NextCheck();

  // Read-modify-write of a domain record under the lock (creates it when
  // missing with only the name set).
  Status Update(const std::string& domain, const std::function<void(store::StoredDomain&)>& change);
  // Deletes the domain record (docs/tenants.md, `domain remove`), under the
  // same lock as a check's write, so a check running meanwhile cannot put
  // the record back.
  Status Remove(const std::string& domain);

  const DomainValidationConfig& config() const { return config_; }

 private:
  // The outcome of one lookup applied to v at now.
  void Apply(const std::string& domain, const Result<std::vector<std::string>>& txt,
             store::StoredDomainValidation& v, int64_t now);
  void Retry(store::StoredDomainValidation& v, int64_t now, const std::string& reason);
  bool Due(const store::StoredDomainValidation& v, int64_t now) const;

  KeyStore& store_;
  TxtResolver& resolver_;
  const Clock& clock_;
  DomainValidationConfig config_;
  metrics::Family<metrics::Counter>& checks_;
  std::mutex mu_;
};

}  // namespace sg::keyservice
