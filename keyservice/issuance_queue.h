// IssuanceQueue: a first certificate from an external CA (the cmp backend)
// is issued in the background, so that a CA that is slow, silent or down
// never holds the caller (a worker thread in `smimegate run`, a gRPC handler
// in the distributed mode) for the CA's timeouts (CMP total_timeout: 2 min).
// The built-in CA answers in process and is not queued: KeyServiceImpl calls
// it on the caller's thread.
//
// GetSigningIdentity for a user without a usable certificate from an
// external CA calls Request(address): it starts the issuance (or joins the
// one in flight for that address: one at a time per address) and waits at
// most `answer_within` for it. A CA that answers within that time gives the
// caller its certificate at once; otherwise the caller gets kUnavailable
// (the worker sets the message aside, workers.ca_wait), the issuance goes
// on and its certificate is stored when it comes: the worker's next try
// finds it.
//
// The outcome of a failed issuance is remembered per address, so that a
// refusal reaches the next try as a refusal (the worker then delivers per
// policy at once) instead of starting a new request: a transient failure
// (the CA down) for `retry_after`, any other (the CA refused, its answer
// failed our checks) for `remember_refusal`. A success is not remembered:
// the certificate is in the store.
//
// Bounds: at most `max_concurrent` issuances run at once (that many
// threads), at most `max_queued` addresses wait for a thread; beyond that
// Request answers kUnavailable ("queue full") without queueing. Metrics:
//   smimegate_keyservice_issuance_queued       addresses waiting for a thread
//   smimegate_keyservice_issuance_running      issuances in progress
//   smimegate_keyservice_issuance_requests_total{result}
//       started | joined (one in flight) | remembered (a recent failure) |
//       queue_full | stopping
//   smimegate_keyservice_issuance_outcomes_total{result}
//       ok | the error code name (unavailable, permission_denied, ...)
//
// Shutdown: queued issuances are dropped (their callers get kUnavailable),
// `cancel` is called once to end the ones in progress (the CA's
// CancelExchanges), and the threads are joined; Request after Shutdown
// answers kUnavailable at once.
//
// Threading: thread-safe. `issue` runs on the queue's threads and must be
// thread-safe; it and `cancel` must stay valid until Shutdown returns (the
// destructor calls Shutdown). The clock is borrowed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

class IssuanceQueue {
 public:
  // Issues a certificate for `address` (blocking; OK when the address has a
  // usable certificate afterwards).
  using IssueFn = std::function<Status(const std::string& address)>;

  IssuanceQueue(const IssuanceConfig& config, IssueFn issue, std::function<void()> cancel,
                Clock& clock, metrics::Registry& registry);
  ~IssuanceQueue();
  IssuanceQueue(const IssuanceQueue&) = delete;
  IssuanceQueue& operator=(const IssuanceQueue&) = delete;

  // OK: the certificate was issued within answer_within. The issuance's
  // error (or the remembered one of a recent issuance): the CA refused or
  // failed. kUnavailable: still in progress, queue full, or stopping.
  Status Request(const std::string& address);

  void Shutdown();

  // Addresses queued or in progress (tests).
  size_t pending() const;

 private:
  struct Flight {
    bool done = false;
    Status result = OkStatus();
  };
  struct Outcome {
    Error error;
    int64_t until_ms = 0;
  };

  void Run();
  // mu_ held.
  void Remember(const std::string& address, const Error& error);
  Status Unavailable(const std::string& result, std::string message);

  IssuanceConfig config_;
  IssueFn issue_;
  std::function<void()> cancel_;
  Clock& clock_;
  metrics::Gauge& queued_;
  metrics::Gauge& running_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& outcomes_total_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a queued address or stopping
  std::condition_variable done_cv_;  // a flight finished
  std::deque<std::string> queue_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;  // queued or running
  std::unordered_map<std::string, Outcome> outcomes_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sg::keyservice
