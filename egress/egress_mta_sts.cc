#include "egress/egress_mta_sts.h"

#include <spdlog/spdlog.h>

#include "common/http/http_transfer.h"

namespace sg::egress {

MtaSts::MtaSts(Resolver& resolver, StsFetcher& fetcher, StsCache& cache, const Clock& clock,
               EgressMetrics& metrics)
    : resolver_(resolver), fetcher_(fetcher), cache_(cache), clock_(clock), metrics_(metrics) {}

void MtaSts::PolicyFor(const std::string& domain, std::function<void(StsLookup)> done) {
  auto& waiters = waiting_[domain];
  waiters.push_back(std::move(done));
  if (waiters.size() > 1) return;  // a look-up of this domain is under way
  resolver_.ResolveTxt("_mta-sts." + domain, [this, domain](Result<std::vector<std::string>> txt) {
    OnTxt(domain, std::move(txt));
  });
}

StsLookup MtaSts::FromCache(const std::string& domain, std::string failure) const {
  StsLookup out;
  out.failure = std::move(failure);
  auto cached = cache_.Lookup(domain);
  if (cached && !cached->Expired(clock_.NowMs()) && cached->policy.mode != StsMode::kNone) {
    out.policy = std::make_shared<const StsPolicy>(cached->policy);
  }
  return out;
}

void MtaSts::OnTxt(const std::string& domain, Result<std::vector<std::string>> txt) {
  Result<std::string> id = txt.ok() ? ParseStsTxt(*txt) : Result<std::string>(txt.error());
  if (!id.ok()) {
    if (id.error().code == ErrorCode::kCancelled) {
      Finish(domain, StsLookup{});
      return;
    }
    const bool invalid = id.error().code == ErrorCode::kInvalidArgument;
    StsLookup lookup = FromCache(domain, invalid ? "sts-policy-invalid" : "");
    metrics_.StsPolicy(lookup.policy ? "cached" : invalid ? "invalid" : "none");
    Finish(domain, lookup);
    return;
  }
  auto cached = cache_.Lookup(domain);
  if (cached && cached->id == *id && !cached->Expired(clock_.NowMs())) {
    metrics_.StsPolicy(cached->policy.mode == StsMode::kNone ? "mode_none" : "cached");
    Finish(domain, FromCache(domain, ""));
    return;
  }
  fetcher_.Fetch(domain, [this, domain, id = *id](Result<std::string> body) {
    OnFetched(domain, id, std::move(body));
  });
}

void MtaSts::OnFetched(const std::string& domain, const std::string& id, Result<std::string> body) {
  if (!body.ok()) {
    if (body.error().code == ErrorCode::kCancelled) {
      Finish(domain, StsLookup{});
      return;
    }
    const bool webpki =
        body.error().message.find(http::kPeerVerificationFailed) != std::string::npos;
    spdlog::warn("egress: MTA-STS policy of {} not fetched: {}", domain, body.error().message);
    metrics_.StsPolicy("fetch_error");
    Finish(domain, FromCache(domain, webpki ? "sts-webpki-invalid" : "sts-policy-fetch-error"));
    return;
  }
  auto policy = ParseStsPolicy(*body);
  if (!policy.ok()) {
    spdlog::warn("egress: MTA-STS policy of {} not used: {}", domain, policy.error().message);
    metrics_.StsPolicy("invalid");
    Finish(domain, FromCache(domain, "sts-policy-invalid"));
    return;
  }
  StsCacheEntry entry{id, std::move(*body), *policy, clock_.NowMs()};
  if (auto st = cache_.Persist(domain, entry); !st.ok()) {
    spdlog::warn("egress: MTA-STS policy of {} kept in memory only: {}", domain,
                 st.error().message);
  }
  cache_.Put(domain, std::move(entry));
  metrics_.StsPolicy(policy->mode == StsMode::kNone ? "mode_none" : "fetched");
  spdlog::info("egress: MTA-STS policy of {}: mode {}, id {}, max_age {}s", domain,
               StsModeName(policy->mode), id, policy->max_age_s);
  Finish(domain, FromCache(domain, ""));
}

void MtaSts::Finish(const std::string& domain, const StsLookup& lookup) {
  auto it = waiting_.find(domain);
  if (it == waiting_.end()) return;
  auto waiters = std::move(it->second);
  waiting_.erase(it);
  for (auto& w : waiters) w(lookup);
}

}  // namespace sg::egress
