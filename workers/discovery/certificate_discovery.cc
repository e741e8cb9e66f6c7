#include "workers/discovery/certificate_discovery.h"

#include <algorithm>

#include "common/log_event.h"

namespace sg::workers {

using State = DiscoveryStatus::State;

namespace {

// What the sources look up: the local-part as written, the domain of the
// normalised address (A-labels: what DNS and directories are asked for).
std::string QueryForm(const std::string& address, const std::string& as_written) {
  const size_t written_at = as_written.rfind('@');
  const size_t at = address.rfind('@');
  if (written_at == std::string::npos || written_at == 0 || at == std::string::npos) {
    return address;
  }
  return as_written.substr(0, written_at) + address.substr(at);
}

}  // namespace

CertificateDiscovery::CertificateDiscovery(DiscoveryOptions options,
                                           std::vector<std::unique_ptr<CertificateSource>> sources,
                                           keyservice::KeyService& keys, DiscoveryMetrics& metrics,
                                           const Clock& clock)
    : options_(options),
      sources_(std::move(sources)),
      keys_(keys),
      metrics_(metrics),
      clock_(clock),
      pool_({"sg-discovery", static_cast<size_t>(std::max(1, options_.threads)),
             options_.queue_limit}) {}

CertificateDiscovery::~CertificateDiscovery() { pool_.Stop(ThreadPool::StopMode::kDropQueued); }

DiscoveryStatus CertificateDiscovery::Lookup(const std::string& address,
                                             const std::string& as_written) {
  // No source to ask (e.g. only LDAP directories, none for this domain):
  // the message goes on at once, not set aside.
  if (std::none_of(sources_.begin(), sources_.end(),
                   [&address](const auto& s) { return s->Covers(address); })) {
    return DiscoveryStatus{};
  }
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  DiscoveryStatus out;
  auto it = entries_.find(address);
  if (it != entries_.end()) {
    const Entry& e = it->second;
    if (e.state == State::kPending) {
      const int64_t deadline = e.started_ms + options_.max_wait.count();
      if (now >= deadline) {
        metrics_.Recipient("deadline");
        return out;  // kNone: the message goes on without
      }
      metrics_.Recipient("waiting");
      out.state = State::kPending;
      out.retry_at_ms = std::min(now + std::max<int64_t>(options_.retry.count(), 1), deadline);
      return out;
    }
    if (e.expires_ms > now) {
      metrics_.Recipient(e.state == State::kFound ? "found" : "none");
      out.state = e.state;
      out.certificate_der = e.der;
      return out;
    }
  }
  // The job takes mu_ only to leave its entry, after the pending one below.
  Job job{address, QueryForm(address, as_written)};
  if (!pool_.Post([this, job = std::move(job)] { Finish(job); })) {
    metrics_.Recipient("overloaded");
    return out;
  }
  TrimLocked(now);
  entries_[address] = Entry{State::kPending, "", now, 0};
  metrics_.Recipient("waiting");
  out.state = State::kPending;
  const auto first = std::min(options_.retry, options_.max_wait);
  out.retry_at_ms = now + std::max<int64_t>(first.count(), 1);
  return out;
}

void CertificateDiscovery::TrimLocked(int64_t now_ms) {
  if (entries_.size() < options_.cache_entries) return;
  std::erase_if(entries_, [now_ms](const auto& kv) {
    return kv.second.state != State::kPending && kv.second.expires_ms <= now_ms;
  });
  if (entries_.size() < options_.cache_entries) return;
  std::erase_if(entries_, [](const auto& kv) { return kv.second.state != State::kPending; });
}

void CertificateDiscovery::Finish(const Job& job) {
  Entry done = Discover(job);
  std::lock_guard<std::mutex> lock(mu_);
  entries_[job.address] = std::move(done);
}

CertificateDiscovery::Entry CertificateDiscovery::Discover(const Job& job) {
  const std::string& address = job.address;
  Entry e;
  e.state = State::kNone;
  bool failed = false;
  for (const auto& source : sources_) {
    if (!source->Covers(address)) continue;
    SourceAnswer answer = source->Find(job.query);
    std::string result = answer.result;
    if (result == "found") {
      if (Accept(address, answer, &e.der)) {
        e.state = State::kFound;
      } else {
        result = "rejected";
      }
    }
    failed = failed || result == "error" || result == "timeout";
    metrics_.Lookup(std::string(source->Name()), result);
    log::Event("discovery")
        .Field("address", address)
        .Field("source", std::string(source->Name()))
        .Field("result", result)
        .Field("detail", answer.detail)
        .Info();
    if (e.state == State::kFound) break;
  }
  const auto ttl = e.state == State::kFound ? options_.found_ttl
                   : failed                 ? options_.error_ttl
                                            : options_.not_found_ttl;
  e.expires_ms = clock_.NowMs() + ttl.count();
  return e;
}

bool CertificateDiscovery::Accept(const std::string& address, const SourceAnswer& answer,
                                  std::string* der) {
  for (const auto& candidate : answer.certificates_der) {
    keyservice::HarvestRequest request;
    request.address = address;
    request.certificate_der = candidate;
    auto harvested = keys_.HarvestCertificate(request);
    if (!harvested.ok()) continue;
    if (harvested->outcome == keyservice::HarvestOutcome::kStored ||
        harvested->outcome == keyservice::HarvestOutcome::kUnchanged) {
      *der = candidate;
      return true;
    }
  }
  return false;
}

}  // namespace sg::workers
