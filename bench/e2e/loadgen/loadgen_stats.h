// Per-run bookkeeping: one record per message, counters, latency samples, and
// the JSON report (field names fixed by the E2E spec, Part L).
//
// Threading: loop thread only (client and sink share the loop, so submission
// and delivery are stamped on one monotonic clock without locks).
// Latencies are kept as raw samples and sorted once at the end, so p50/p99/p999
// are exact (nearest-rank), not histogram approximations.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sg::bench::loadgen {

struct Percentiles {
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  uint64_t count = 0;
};
// Nearest-rank percentiles of nanosecond samples (sorts the vector).
Percentiles ComputePercentiles(std::vector<int64_t>& samples_ns);

class RunStats {
 public:
  enum class MsgState : uint8_t { kSending, kAccepted, kRejected, kFailed };

  // A new message whose latency clock starts at start_ns; returns its seq.
  uint64_t NewMessage(int64_t start_ns);
  // MAIL FROM of message seq went out (counts as sent).
  void OnTransactionStarted(int64_t now_ns);
  // Message bytes written after 354.
  void AddBytes(uint64_t bytes) { bytes_sent_ += bytes; }
  void OnAccepted(uint64_t seq, int64_t now_ns);
  void OnRejected(uint64_t seq, int code);
  // Connection lost mid-transaction: neither accepted nor rejected.
  void OnFailed(uint64_t seq);
  void OnConnectionError() { ++connection_errors_; }
  // A message arrived at the sink; seq is empty for foreign messages.
  void OnDelivered(std::optional<uint64_t> seq, int64_t now_ns);

  uint64_t issued() const { return records_.size(); }
  uint64_t in_flight() const { return in_flight_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t accepted_delivered() const { return accepted_delivered_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t connection_errors() const { return connection_errors_; }
  uint64_t sent() const { return sent_; }
  uint64_t rejected() const { return rejected_4xx_ + rejected_5xx_; }
  int64_t StartNs(uint64_t seq) const { return records_[seq].start_ns; }

  struct ReportInfo {
    std::string run_id;
    std::optional<double> rate;
    int connections = 0;
    uint64_t size = 0;
    bool drain_timed_out = false;
    bool target_unreachable = false;
  };
  nlohmann::json Report(const ReportInfo& info);
  uint64_t Lost() const;

 private:
  struct Record {
    int64_t start_ns;
    MsgState state;
    uint8_t deliveries;
  };
  std::vector<Record> records_;
  std::vector<int64_t> submit_ns_, e2e_ns_;
  uint64_t sent_ = 0, accepted_ = 0, rejected_4xx_ = 0, rejected_5xx_ = 0, failed_ = 0;
  uint64_t connection_errors_ = 0, delivered_ = 0, duplicates_ = 0, foreign_ = 0;
  uint64_t accepted_delivered_ = 0, delivered_unaccepted_ = 0, bytes_sent_ = 0, in_flight_ = 0;
  int64_t first_send_ns_ = -1, last_accept_ns_ = -1, last_delivery_ns_ = -1;
};

}  // namespace sg::bench::loadgen
