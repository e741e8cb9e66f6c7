#include "egress/egress_mta_sts_fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>

#include "common/http/http_transfer.h"

namespace sg::egress {

struct HttpsStsFetcher::Job {
  std::string url;
  std::string resolve;  // "host:port:address" for CURLOPT_RESOLVE
  Done done;
  Result<std::string> result = MakeError(ErrorCode::kCancelled, "MTA-STS fetch cancelled");
};

namespace {

std::string AddressText(const sockaddr_storage& a) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (a.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &s6->sin6_addr, buf.data(), buf.size());
    return "[" + std::string(buf.data()) + "]";
  }
  const auto* s4 = reinterpret_cast<const sockaddr_in*>(&a);
  inet_ntop(AF_INET, &s4->sin_addr, buf.data(), buf.size());
  return buf.data();
}

}  // namespace

HttpsStsFetcher::HttpsStsFetcher(uv_loop_t* loop, Resolver& resolver, const MtaStsConfig& config,
                                 const DestinationPolicy& destinations, const RouteConfig& route)
    : loop_(loop),
      resolver_(resolver),
      config_(config),
      destinations_(destinations),
      route_(route),
      async_(new uv_async_t) {
  uv_async_init(loop_, async_,
                [](uv_async_t* h) { static_cast<HttpsStsFetcher*>(h->data)->Deliver(); });
  async_->data = this;
}

HttpsStsFetcher::~HttpsStsFetcher() { Shutdown(); }

void HttpsStsFetcher::Fetch(const std::string& domain, Done done) {
  const std::string host = "mta-sts." + domain;
  const uint16_t port = config_.https_port;
  resolver_.ResolveAddress(
      host, port,
      [this, host, port,
       done = std::move(done)](Result<std::vector<sockaddr_storage>> addrs) mutable {
        if (!addrs.ok() || addrs->empty()) {
          done(MakeError(ErrorCode::kUnavailable,
                         host + ": no address (" +
                             (addrs.ok() ? std::string("no records") : addrs.error().message) +
                             ")"));
          return;
        }
        const sockaddr_storage* usable = nullptr;
        std::string refused;
        for (const auto& a : *addrs) {
          const auto bytes = AddressBytes(reinterpret_cast<const sockaddr*>(&a));
          auto cls = destinations_.Refuses(bytes, route_.allowed_networks);
          if (!cls) {
            usable = &a;
            break;
          }
          refused = DestinationPolicy::RefusalText(bytes, *cls, route_.config_path);
        }
        if (usable == nullptr) {
          done(MakeError(ErrorCode::kPermissionDenied, host + ": not fetching: " + refused));
          return;
        }
        auto job = std::make_shared<Job>();
        const std::string hp = host + (port == 443 ? "" : ":" + std::to_string(port));
        job->url = "https://" + hp + "/.well-known/mta-sts.txt";
        job->resolve = host + ":" + std::to_string(port) + ":" + AddressText(*usable);
        job->done = std::move(done);
        if (!worker_.Post([this, job] { Work(job); })) {
          job->done(MakeError(ErrorCode::kCancelled, "egress is shutting down"));
        }
      });
}

void HttpsStsFetcher::Work(const std::shared_ptr<Job>& job) {
  // Shutdown runs the fetches still waiting (ThreadPool::kRunQueued) so that
  // each reaches done_; they are not started any more, only cancelled.
  if (!worker_.Stopping()) {
    http::TransferOptions o;
    o.url = job->url;
    o.https_only = true;
    o.timeout = config_.fetch_timeout;
    o.max_bytes = kStsPolicyMaxBytes;
    o.ca_file = config_.ca_file;
    o.user_agent = "smimegate";
    o.resolve = {job->resolve};
    auto answer = http::Perform(o);
    if (!answer.ok()) {
      job->result = std::move(answer).error();
    } else if (answer->status != 200) {
      job->result = MakeError(ErrorCode::kNotFound,
                              job->url + ": HTTP status " + std::to_string(answer->status));
    } else {
      job->result = std::move(answer->body);
    }
  }
  {
    std::lock_guard lock(mu_);
    done_.push_back(job);
  }
  uv_async_send(async_);
}

void HttpsStsFetcher::Deliver() {
  std::vector<std::shared_ptr<Job>> finished;
  {
    std::lock_guard lock(mu_);
    finished.swap(done_);
  }
  for (auto& job : finished) job->done(std::move(job->result));
}

void HttpsStsFetcher::Shutdown() {
  if (async_ == nullptr) return;
  // Waits for the fetch in progress; the waiting ones only reach done_.
  worker_.Stop(ThreadPool::StopMode::kRunQueued);
  std::vector<std::shared_ptr<Job>> finished;
  {
    std::lock_guard lock(mu_);
    finished.swap(done_);
  }
  for (auto& job : finished) job->done(MakeError(ErrorCode::kCancelled, "egress is shutting down"));
  uv_close(reinterpret_cast<uv_handle_t*>(async_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
  async_ = nullptr;
}

}  // namespace sg::egress
