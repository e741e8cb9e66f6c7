#include "egress/egress_dane.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/ascii.h"
#include "common/dns/dns_answer.h"

namespace sg::egress {
namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;

DaneLookup Outcome(DaneOutcome outcome, std::string reason, uint32_t ttl = 0) {
  DaneLookup out;
  out.outcome = outcome;
  out.reason = std::move(reason);
  out.ttl = ttl;
  return out;
}

// A failed look-up: kCancelled (shutting down) and a name that is no domain
// name are no DANE; everything else is a failure the host must not survive.
DaneLookup Failed(const Error& error) {
  if (error.code == ErrorCode::kCancelled || error.code == ErrorCode::kInvalidArgument) {
    return Outcome(DaneOutcome::kNone, error.message);
  }
  return Outcome(DaneOutcome::kBogus, error.message);
}

}  // namespace

bool DaneUsable(const dns::TlsaRecord& r) {
  if (r.usage != static_cast<uint8_t>(dns::TlsaUsage::kDaneTa) &&
      r.usage != static_cast<uint8_t>(dns::TlsaUsage::kDaneEe)) {
    return false;  // PKIX-TA(0) and PKIX-EE(1) are not for SMTP (RFC 7672 3.1.3)
  }
  if (r.selector > static_cast<uint8_t>(dns::TlsaSelector::kSubjectPublicKeyInfo)) return false;
  switch (static_cast<dns::TlsaMatching>(r.matching_type)) {
    case dns::TlsaMatching::kExact:
      return !r.data.empty();
    case dns::TlsaMatching::kSha256:
      return r.data.size() == 32;
    case dns::TlsaMatching::kSha512:
      return r.data.size() == 64;
  }
  return false;
}

std::optional<DaneLookup> DecideDaneAddress(const std::string& host, const char* type,
                                            const Result<dns::AuthenticatedAnswer>& answer) {
  if (!answer.ok()) return Failed(answer.error());
  if (!answer->authenticated) {
    return Outcome(DaneOutcome::kNone,
                   std::string("the ") + type + " records of " + host + " are not signed",
                   answer->ttl);
  }
  if (!answer->name_exists) {
    return Outcome(DaneOutcome::kNone, host + " does not exist", answer->ttl);
  }
  return std::nullopt;
}

DaneLookup DecideDaneTlsa(const std::string& base_domain,
                          const Result<dns::AuthenticatedAnswer>& answer) {
  if (!answer.ok()) return Failed(answer.error());
  const std::string name = "_25._tcp." + base_domain;
  if (!answer->authenticated) {
    return Outcome(DaneOutcome::kNone, "the TLSA records of " + name + " are not signed",
                   answer->ttl);
  }
  if (answer->rdata.empty()) {
    return Outcome(DaneOutcome::kNone, name + " has no TLSA records", answer->ttl);
  }
  DaneLookup out = Outcome(DaneOutcome::kUnusable,
                           name + ": none of its " + std::to_string(answer->rdata.size()) +
                               " TLSA records is usable for SMTP",
                           answer->ttl);
  out.base_domain = base_domain;
  for (const auto& rdata : answer->rdata) {
    auto record = dns::ParseTlsaRdata(rdata);
    if (record.ok() && DaneUsable(*record)) out.records.push_back(std::move(*record));
  }
  if (!out.records.empty()) {
    out.outcome = DaneOutcome::kDane;
    out.reason = name + ": " + std::to_string(out.records.size()) + " usable TLSA records";
  }
  return out;
}

Dane::Dane(Resolver& resolver, const Clock& clock, const DaneConfig& config)
    : resolver_(resolver), clock_(clock), config_(config) {}

void Dane::PolicyFor(const std::string& host_in, std::function<void(DaneLookup)> done) {
  std::string host = AsciiLower(host_in);
  if (!host.empty() && host.back() == '.') host.pop_back();
  auto cached = cache_.find(host);
  if (cached != cache_.end()) {
    if (cached->second.expires_ms > clock_.NowMs()) {
      done(cached->second.lookup);
      return;
    }
    cache_.erase(cached);
  }
  auto& waiters = waiting_[host];
  waiters.push_back(std::move(done));
  if (waiters.size() > 1) return;  // a look-up of this host is under way
  resolver_.ResolveAuthenticated(
      host, kTypeA,
      [this, p = Pending{host, "", UINT32_MAX}](const Result<dns::AuthenticatedAnswer>& answer) {
        OnAddress(p, kTypeA, answer);
      });
}

void Dane::OnAddress(Pending p, uint16_t qtype, const Result<dns::AuthenticatedAnswer>& answer) {
  const bool a = qtype == kTypeA;
  if (auto final_outcome = DecideDaneAddress(p.host, a ? "A" : "AAAA", answer)) {
    final_outcome->ttl = std::min(final_outcome->ttl, p.ttl);
    Finish(p.host, std::move(*final_outcome));
    return;
  }
  p.ttl = std::min(p.ttl, answer->ttl);
  if (!a) {
    AskTlsa(p, p.expanded.empty() ? p.host : p.expanded);
    return;
  }
  // The chain was validated with the A records (the AD bit covers the whole answer).
  if (!answer->canonical_name.empty() && answer->canonical_name != p.host) {
    p.expanded = answer->canonical_name;
  }
  resolver_.ResolveAuthenticated(
      p.host, kTypeAaaa,
      [this, p](const Result<dns::AuthenticatedAnswer>& aaaa) { OnAddress(p, kTypeAaaa, aaaa); });
}

void Dane::AskTlsa(const Pending& p, const std::string& base_domain) {
  resolver_.ResolveAuthenticated(
      "_25._tcp." + base_domain, dns::kTypeTlsa,
      [this, p, base_domain](const Result<dns::AuthenticatedAnswer>& tlsa) {
        DaneLookup lookup = DecideDaneTlsa(base_domain, tlsa);
        lookup.ttl = std::min(lookup.ttl, p.ttl);
        if (lookup.outcome == DaneOutcome::kNone && base_domain != p.host &&
            tlsa.ok()) {  // nothing validated at the expanded name: the MX host name next
          Pending next = p;
          next.ttl = lookup.ttl;
          AskTlsa(next, p.host);
          return;
        }
        Finish(p.host, std::move(lookup));
      });
}

void Dane::Finish(const std::string& host, DaneLookup lookup) {
  if (lookup.outcome == DaneOutcome::kBogus) {
    spdlog::warn("egress: DANE look-up for MX host {} failed, the host is not used: {}", host,
                 lookup.reason);
  } else {
    spdlog::debug("egress: DANE for MX host {}: {}", host, lookup.reason);
    const int64_t ttl_ms = std::min<int64_t>(int64_t{lookup.ttl} * 1000, config_.max_ttl.count());
    if (ttl_ms > 0 && config_.cache_entries > 0) {
      const int64_t now = clock_.NowMs();
      if (cache_.size() >= static_cast<size_t>(config_.cache_entries)) {
        std::erase_if(cache_, [now](const auto& e) { return e.second.expires_ms <= now; });
      }
      if (cache_.size() >= static_cast<size_t>(config_.cache_entries)) cache_.erase(cache_.begin());
      cache_[host] = Cached{lookup, now + ttl_ms};
    }
  }
  auto it = waiting_.find(host);
  if (it == waiting_.end()) return;
  auto waiters = std::move(it->second);
  waiting_.erase(it);
  for (auto& w : waiters) w(lookup);
}

}  // namespace sg::egress
