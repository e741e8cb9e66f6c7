#include "workers/smime/revocation_checker.h"

#include <algorithm>

namespace sg::smime {

std::string_view RevocationStateName(RevocationState state) {
  switch (state) {
    case RevocationState::kGood: return "good";
    case RevocationState::kRevoked: return "revoked";
    case RevocationState::kUnknown: return "unknown";
    case RevocationState::kError: return "error";
  }
  return "error";
}

namespace {

// The worse of two states: revoked > error > unknown > good.
int Rank(RevocationState s) {
  switch (s) {
    case RevocationState::kGood: return 0;
    case RevocationState::kUnknown: return 1;
    case RevocationState::kError: return 2;
    case RevocationState::kRevoked: return 3;
  }
  return 2;
}

std::string Describe(const RevocationAnswer& a, const char* source, const std::string& url) {
  switch (a.state) {
    case RevocationState::kRevoked:
      return "certificate revoked (" + a.reason + ") per " + source + " " + url;
    case RevocationState::kUnknown:
      return std::string("certificate unknown to the ") + source + " responder " + url;
    default:
      return "";
  }
}

}  // namespace

OnlineRevocationChecker::OnlineRevocationChecker(RevocationConfig config, HttpFetcher& fetcher,
                                                 RevocationMetrics* metrics, const Clock& clock)
    : config_(std::move(config)), fetcher_(fetcher), metrics_(metrics), clock_(clock) {}

std::time_t OnlineRevocationChecker::Now() const { return UnixSeconds(clock_.Now()); }

RevocationVerdict OnlineRevocationChecker::Check(const std::vector<X509Ptr>& chain,
                                                 std::string_view domain) {
  RevocationVerdict v;
  if (chain.size() < 2) return v;  // a trusted anchor signed itself: nothing to ask
  const Deadline deadline = std::chrono::steady_clock::now() + config_.budget;
  std::vector<X509*> raw;
  raw.reserve(chain.size());
  for (const X509Ptr& c : chain) raw.push_back(c.get());
  X509* anchor = raw.back();
  for (size_t i = 0; i + 1 < raw.size(); ++i) {
    Outcome o = CheckOne(raw[i], raw[i + 1], raw, anchor, deadline);
    if (!o.checked) continue;
    if (metrics_ != nullptr) metrics_->Checked(o.state);
    if (Rank(o.state) > Rank(v.state)) {
      v.state = o.state;
      v.detail = (i == 0 ? "" : "chain certificate " + std::to_string(i) + ": ") + o.detail;
    }
    if (v.state == RevocationState::kRevoked) break;
  }
  if (v.state == RevocationState::kRevoked) {
    v.fail = true;
  } else if (v.state != RevocationState::kGood) {
    v.fail = config_.hard_fail_domains.count(std::string(domain)) > 0;
    if (!v.fail && metrics_ != nullptr) metrics_->SoftFailure();
    v.detail += v.fail ? " (hard fail for " + std::string(domain) + ")" : " (soft fail)";
  }
  return v;
}

OnlineRevocationChecker::Outcome OnlineRevocationChecker::CheckOne(X509* cert, X509* issuer,
                                                                   const std::vector<X509*>& chain,
                                                                   X509* anchor, Deadline deadline) {
  Outcome o;
  const std::string ocsp = OcspUrl(cert);
  if (!ocsp.empty()) {
    o = ByOcsp(ocsp, cert, issuer, chain, anchor, deadline);
    if (o.state != RevocationState::kError) return o;
  }
  const std::vector<std::string> crls = CrlUrls(cert);
  if (crls.empty()) return o;  // OCSP's error, or nothing to ask
  Outcome by_crl = ByCrl(crls.front(), cert, issuer, deadline);
  if (by_crl.state == RevocationState::kError && o.checked) {
    by_crl.detail = o.detail + "; " + by_crl.detail;
  }
  return by_crl;
}

OnlineRevocationChecker::Outcome OnlineRevocationChecker::ByOcsp(
    const std::string& url, X509* cert, X509* issuer, const std::vector<X509*>& chain, X509* anchor,
    Deadline deadline) {
  Outcome o;
  o.checked = true;
  std::string key;
  auto request = OcspRequest(cert, issuer, &key);
  if (!request.ok()) {
    o.state = RevocationState::kError;
    o.detail = request.error().message;
    return o;
  }
  const std::time_t now = Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ocsp_.find(key);
    if (it != ocsp_.end() && it->second.expires > now) {
      if (metrics_ != nullptr) metrics_->CacheHit(false);
      o.state = it->second.answer.state;
      o.detail = Describe(it->second.answer, "OCSP", url);
      return o;
    }
  }
  HttpRequest http{url, *request, "application/ocsp-request", config_.timeout, config_.max_ocsp_bytes};
  auto body = Fetch(std::move(http), deadline);
  auto answer = body.ok() ? ReadOcspResponse(*body, cert, issuer, chain, anchor, Now())
                          : Result<RevocationAnswer>(body.error());
  if (!answer.ok()) {
    if (body.ok()) Failed(url, now);
    o.state = RevocationState::kError;
    o.detail = "OCSP: " + answer.error().message;
    return o;
  }
  o.state = answer->state;
  o.detail = Describe(*answer, "OCSP", url);
  std::lock_guard<std::mutex> lock(mu_);
  MakeRoom(ocsp_, config_.cache_entries, now);
  ocsp_[key] = OcspEntry{*answer, Expiry(answer->next_update, now)};
  return o;
}

OnlineRevocationChecker::Outcome OnlineRevocationChecker::ByCrl(const std::string& url, X509* cert,
                                                                X509* issuer, Deadline deadline) {
  Outcome o;
  o.checked = true;
  const std::time_t now = Now();
  CrlPtr crl;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = crls_.find(url);
    if (it != crls_.end() && it->second.expires > now &&
        X509_NAME_cmp(X509_CRL_get_issuer(it->second.crl.get()), X509_get_subject_name(issuer)) == 0) {
      if (metrics_ != nullptr) metrics_->CacheHit(true);
      crl = it->second.crl;
    }
  }
  if (!crl) {
    auto body = Fetch(HttpRequest{url, "", "", config_.timeout, config_.max_crl_bytes}, deadline);
    std::optional<std::time_t> next_update;
    auto read = body.ok() ? ReadCrl(*body, issuer, now, &next_update) : Result<CrlPtr>(body.error());
    if (!read.ok()) {
      if (body.ok()) Failed(url, now);
      o.state = RevocationState::kError;
      o.detail = "CRL: " + read.error().message;
      return o;
    }
    crl = *read;
    std::lock_guard<std::mutex> lock(mu_);
    MakeRoom(crls_, config_.crl_cache_entries, now);
    crls_[url] = CrlEntry{crl, Expiry(next_update, now)};
  }
  RevocationAnswer a = LookupCrl(crl.get(), cert);
  o.state = a.state;
  o.detail = Describe(a, "CRL", url);
  return o;
}

Result<std::string> OnlineRevocationChecker::Fetch(HttpRequest request, Deadline deadline) {
  const std::time_t now = Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = down_.find(request.url);
    if (it != down_.end() && it->second > now) {
      return MakeError(ErrorCode::kUnavailable,
                       request.url + " gave no usable answer recently (retry_after)");
    }
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left < std::chrono::milliseconds(100)) {
    return MakeError(ErrorCode::kTimeout, request.url + ": not asked, the check's budget is spent");
  }
  request.timeout = std::min(request.timeout, left);
  auto body = fetcher_.Fetch(request);
  if (!body.ok()) Failed(request.url, now);
  return body;
}

void OnlineRevocationChecker::Failed(const std::string& url, std::time_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  MakeRoom(down_, config_.cache_entries, now);
  down_[url] = now + static_cast<std::time_t>(config_.retry_after.count());
}

std::time_t OnlineRevocationChecker::Expiry(const std::optional<std::time_t>& next_update,
                                            std::time_t now) const {
  const std::time_t cap = now + static_cast<std::time_t>(config_.max_cache_time.count());
  if (!next_update) return std::min(cap, now + static_cast<std::time_t>(config_.default_cache_time.count()));
  return std::min(cap, *next_update);
}

namespace {
std::time_t ExpiryOf(std::time_t t) { return t; }
template <typename E>
std::time_t ExpiryOf(const E& e) {
  return e.expires;
}
}  // namespace

template <typename Map>
void OnlineRevocationChecker::MakeRoom(Map& map, size_t cap, std::time_t now) {
  if (map.size() < cap) return;
  std::erase_if(map, [now](const auto& kv) { return ExpiryOf(kv.second) <= now; });
  while (map.size() >= cap) {
    auto soonest = std::min_element(map.begin(), map.end(), [](const auto& a, const auto& b) {
      return ExpiryOf(a.second) < ExpiryOf(b.second);
    });
    map.erase(soonest);
  }
}

}  // namespace sg::smime
