#include "keyservice/domain_validation.h"

#include <algorithm>

#include "common/log_event.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

constexpr const char* kPending = "pending";
constexpr const char* kValid = "valid";
constexpr const char* kFailed = "failed";

int64_t Seconds(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

bool HasToken(const std::vector<std::string>& txt, const std::string& value) {
  return std::find(txt.begin(), txt.end(), value) != txt.end();
}

}  // namespace

std::string ChallengeRecordName(const DomainValidationConfig& config, const std::string& domain) {
  return config.record_label + "." + domain;
}

std::string ChallengeRecordValue(const std::string& token) { return kValidationPrefix + token; }

DomainValidation::DomainValidation(KeyStore& store, TxtResolver& resolver, const Clock& clock,
                                   DomainValidationConfig config, metrics::Registry& registry)
    : store_(store),
      resolver_(resolver),
      clock_(clock),
      config_(std::move(config)),
      checks_(registry.AddCounter("smimegate_keyservice_domain_checks_total",
                                  "DNS checks of domain validation records, by result "
                                  "(found | missing | changed | dns_error)",
                                  {"result"})) {}

Status DomainValidation::Update(const std::string& domain,
                                const std::function<void(store::StoredDomain&)>& change) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto existing, store_.GetDomain(domain));
  store::StoredDomain d;
  if (existing) d = std::move(*existing);
  d.set_name(domain);
  change(d);
  return store_.PutDomain(d);
}

Status DomainValidation::Remove(const std::string& domain) {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.DeleteDomain(domain);
}

Result<store::StoredDomain> DomainValidation::Start(const std::string& domain) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto existing, store_.GetDomain(domain));
  if (!existing) {
    return MakeError(ErrorCode::kNotFound, "domain " + domain +
                                               " is not hosted (add it first: `smimegatectl "
                                               "domain add " + domain + "`)");
  }
  const auto& old = existing->validation();
  if (old.state() == kPending || old.state() == kValid) return *existing;
  int64_t now = UnixSeconds(clock_.Now());
  store::StoredDomainValidation v;
  v.set_token(RandomId(20));  // 160 bits
  v.set_state(kPending);
  v.set_requested_at(now);
  v.set_next_check_at(now + Seconds(config_.retry_initial));
  v.set_reason("waiting for the TXT record " + ChallengeRecordName(config_, domain));
  *existing->mutable_validation() = v;
  SG_RETURN_IF_ERROR(store_.PutDomain(*existing));
  log::Event("keyservice")
      .Field("action", "domain_validation_requested")
      .Field("domain", domain)
      .Field("record", ChallengeRecordName(config_, domain))
      .Info();
  return *existing;
}

bool DomainValidation::IsValid(const store::StoredDomain& domain) const {
  const auto& v = domain.validation();
  return v.state() == kValid && UnixSeconds(clock_.Now()) <= v.valid_until();
}

bool DomainValidation::IsValid(const std::string& domain) {
  auto d = store_.GetDomain(domain);
  return d.ok() && d->has_value() && IsValid(**d);
}

bool DomainValidation::Due(const store::StoredDomainValidation& v, int64_t now) const {
  return (v.state() == kPending || v.state() == kValid) && v.next_check_at() <= now;
}

std::optional<std::chrono::system_clock::time_point> DomainValidation::NextCheck() {
  auto domains = store_.ListDomains();
  if (!domains.ok()) return std::nullopt;
  std::optional<int64_t> next;
  for (const auto& d : *domains) {
    const auto& v = d.validation();
    if (v.state() != kPending && v.state() != kValid) continue;
    if (!next || v.next_check_at() < *next) next = v.next_check_at();
  }
  if (!next) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(*next));
}

void DomainValidation::Retry(store::StoredDomainValidation& v, int64_t now,
                             const std::string& reason) {
  v.set_attempts(v.attempts() + 1);
  int64_t wait = Seconds(config_.retry_initial);
  const int64_t cap = Seconds(config_.retry_max);
  for (uint32_t i = 1; i < v.attempts() && wait < cap; ++i) wait *= 2;
  v.set_next_check_at(now + std::min(wait, cap));
  v.set_reason(reason);
}

void DomainValidation::Apply(const std::string& domain,
                             const Result<std::vector<std::string>>& txt,
                             store::StoredDomainValidation& v, int64_t now) {
  const std::string name = ChallengeRecordName(config_, domain);
  const bool recheck = v.state() == kValid;
  const bool answered = txt.ok() || txt.error().code == ErrorCode::kNotFound;
  if (txt.ok() && HasToken(*txt, ChallengeRecordValue(v.token()))) {
    checks_.WithLabels({"found"}).Inc();
    v.set_state(kValid);
    v.set_validated_at(now);
    v.set_valid_until(now + Seconds(config_.valid_for));
    v.set_next_check_at(now + Seconds(config_.recheck_after));
    v.set_attempts(0);
    v.set_reason("");
    return;
  }
  if (!answered) {
    checks_.WithLabels({"dns_error"}).Inc();
    Retry(v, now, "DNS: " + txt.error().ToString());
  } else if (recheck) {
    const bool gone = !txt.ok() || txt->empty();
    checks_.WithLabels({gone ? "missing" : "changed"}).Inc();
    v.set_state(kFailed);
    v.set_reason("re-check: the TXT record " + name +
                 (gone ? " has vanished" : " has changed (the token is not in it)"));
  } else {
    checks_.WithLabels({"missing"}).Inc();
    Retry(v, now,
          txt.ok() && !txt->empty() ? "the TXT record " + name + " does not hold the token (yet)"
                                    : "no TXT record " + name + " (yet)");
  }
  if (v.state() == kPending && now - v.requested_at() > Seconds(config_.pending_timeout)) {
    v.set_state(kFailed);
    v.set_reason("not found within the pending timeout; last check: " + v.reason());
  }
  if (v.state() == kValid && now > v.valid_until()) {
    v.set_state(kFailed);
    v.set_reason("expired: no re-check succeeded before the validity ended; last check: " +
                 v.reason());
  }
}

Result<int> DomainValidation::CheckDue() {
  SG_ASSIGN_OR_RETURN(auto domains, store_.ListDomains());
  int checked = 0;
  for (const auto& d : domains) {
    const int64_t now = UnixSeconds(clock_.Now());
    if (!Due(d.validation(), now)) continue;
    const std::string token = d.validation().token();
    auto txt = resolver_.Lookup(ChallengeRecordName(config_, d.name()));  // no lock held
    std::lock_guard<std::mutex> lock(mu_);
    SG_ASSIGN_OR_RETURN(auto current, store_.GetDomain(d.name()));
    // Skip when removed or restarted with a new token during the lookup.
    if (!current || current->validation().token() != token) continue;
    const std::string before = current->validation().state();
    Apply(d.name(), txt, *current->mutable_validation(), now);
    SG_RETURN_IF_ERROR(store_.PutDomain(*current));
    ++checked;
    const auto& v = current->validation();
    auto event = log::Event("keyservice");
    event.Field("action", "domain_validation_check")
        .Field("domain", d.name())
        .Field("state", v.state())
        .Field("reason", v.reason());
    if (v.state() == kFailed && before != kFailed) {
      event.Warn();
    } else {
      event.Info();
    }
  }
  return checked;
}

}  // namespace sg::keyservice
