#include "keyservice/issuance_queue.h"

#include <algorithm>

#include "common/log_event.h"

namespace sg::keyservice {
namespace {

// The remembered outcomes are bounded too (a flood of distinct new senders
// while the CA refuses): expired ones are dropped first, then arbitrary ones.
size_t MaxRemembered(const IssuanceConfig& c) {
  return std::max<size_t>(1000, static_cast<size_t>(c.max_queued) * 10);
}

}  // namespace

IssuanceQueue::IssuanceQueue(const IssuanceConfig& config, IssueFn issue,
                             std::function<void()> cancel, Clock& clock,
                             metrics::Registry& registry)
    : config_(config),
      issue_(std::move(issue)),
      cancel_(std::move(cancel)),
      clock_(clock),
      queued_(registry.AddGauge("smimegate_keyservice_issuance_queued",
                                "First certificates waiting for an issuance thread").Get()),
      running_(registry.AddGauge("smimegate_keyservice_issuance_running",
                                 "First certificates being issued in the background").Get()),
      requests_(registry.AddCounter("smimegate_keyservice_issuance_requests_total",
                                    "Requests for a first certificate, by what they found "
                                    "(started, joined, remembered, queue_full, stopping)",
                                    {"result"})),
      outcomes_total_(registry.AddCounter("smimegate_keyservice_issuance_outcomes_total",
                                          "Background issuances of first certificates, by "
                                          "result (ok or the error code)",
                                          {"result"})) {
  const uint32_t n = std::max<uint32_t>(1, config_.max_concurrent);
  threads_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
}

IssuanceQueue::~IssuanceQueue() { Shutdown(); }

Status IssuanceQueue::Unavailable(const std::string& result, std::string message) {
  requests_.WithLabels({result}).Inc();
  return MakeError(ErrorCode::kUnavailable, std::move(message));
}

Status IssuanceQueue::Request(const std::string& address) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return Unavailable("stopping", "keyservice: stopping, no certificate issued");
  if (auto o = outcomes_.find(address); o != outcomes_.end()) {
    if (clock_.NowMs() < o->second.until_ms) {
      requests_.WithLabels({"remembered"}).Inc();
      return o->second.error;
    }
    outcomes_.erase(o);
  }
  std::shared_ptr<Flight> flight;
  if (auto f = flights_.find(address); f != flights_.end()) {
    flight = f->second;
    requests_.WithLabels({"joined"}).Inc();
  } else {
    if (queue_.size() >= config_.max_queued) {
      return Unavailable("queue_full",
                         "keyservice: " + std::to_string(queue_.size()) +
                             " certificates already wait for the CA "
                             "(keyservice.issuance.max_queued); try again later");
    }
    flight = std::make_shared<Flight>();
    flights_.emplace(address, flight);
    queue_.push_back(address);
    queued_.Inc();
    requests_.WithLabels({"started"}).Inc();
    work_cv_.notify_one();
  }
  done_cv_.wait_for(lock, config_.answer_within, [&] { return flight->done; });
  if (!flight->done) {
    return MakeError(ErrorCode::kUnavailable,
                     "keyservice: the certificate of " + address +
                         " is being issued (the CA has not answered yet); try again later");
  }
  return flight->result;
}

void IssuanceQueue::Remember(const std::string& address, const Error& error) {
  const auto memory = IsTransient(error.code) ? config_.retry_after : config_.remember_refusal;
  if (memory.count() <= 0) return;
  const int64_t now = clock_.NowMs();
  if (outcomes_.size() >= MaxRemembered(config_)) {
    std::erase_if(outcomes_, [now](const auto& o) { return o.second.until_ms <= now; });
    if (outcomes_.size() >= MaxRemembered(config_)) outcomes_.erase(outcomes_.begin());
  }
  outcomes_[address] = Outcome{error, now + memory.count()};
}

void IssuanceQueue::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string address = std::move(queue_.front());
    queue_.pop_front();
    queued_.Dec();
    running_.Inc();
    std::shared_ptr<Flight> flight = flights_[address];
    lock.unlock();
    Status result = issue_(address);
    lock.lock();
    running_.Dec();
    flights_.erase(address);
    outcomes_total_.WithLabels({result.ok() ? std::string("ok")
                                            : std::string(ErrorCodeName(result.error().code))})
        .Inc();
    if (!result.ok()) Remember(address, result.error());
    flight->done = true;
    flight->result = std::move(result);
    done_cv_.notify_all();
  }
}

void IssuanceQueue::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (const auto& address : queue_) {
      auto f = flights_.find(address);
      if (f == flights_.end()) continue;
      f->second->done = true;
      f->second->result = MakeError(ErrorCode::kUnavailable, "keyservice: stopping");
      flights_.erase(f);
      queued_.Dec();
    }
    queue_.clear();
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  if (cancel_) cancel_();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  log::Event("keyservice").Field("action", "issuance_stopped").Debug();
}

size_t IssuanceQueue::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return flights_.size();
}

}  // namespace sg::keyservice
