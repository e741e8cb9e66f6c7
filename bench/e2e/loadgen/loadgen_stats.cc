#include "bench/e2e/loadgen/loadgen_stats.h"

#include <algorithm>
#include <cmath>

namespace sg::bench::loadgen {

Percentiles ComputePercentiles(std::vector<int64_t>& s) {
  Percentiles p;
  p.count = s.size();
  if (s.empty()) return p;
  std::sort(s.begin(), s.end());
  auto rank = [&](double q) {
    auto idx = static_cast<size_t>(std::ceil(q * static_cast<double>(s.size())));
    if (idx == 0) idx = 1;
    return static_cast<double>(s[std::min(idx, s.size()) - 1]) / 1e6;
  };
  p.p50_ms = rank(0.50);
  p.p99_ms = rank(0.99);
  p.p999_ms = rank(0.999);
  p.max_ms = static_cast<double>(s.back()) / 1e6;
  return p;
}

uint64_t RunStats::NewMessage(int64_t start_ns) {
  records_.push_back({start_ns, MsgState::kSending, 0});
  ++in_flight_;
  return records_.size() - 1;
}

void RunStats::OnTransactionStarted(int64_t now_ns) {
  ++sent_;
  if (first_send_ns_ < 0) first_send_ns_ = now_ns;
}

void RunStats::OnAccepted(uint64_t seq, int64_t now_ns) {
  Record& r = records_[seq];
  r.state = MsgState::kAccepted;
  --in_flight_;
  ++accepted_;
  if (r.deliveries > 0) {
    ++accepted_delivered_;
    --delivered_unaccepted_;
  }
  submit_ns_.push_back(now_ns - r.start_ns);
  last_accept_ns_ = now_ns;
}

void RunStats::OnRejected(uint64_t seq, int code) {
  records_[seq].state = MsgState::kRejected;
  --in_flight_;
  if (code >= 500) {
    ++rejected_5xx_;
  } else {
    ++rejected_4xx_;
  }
}

void RunStats::OnFailed(uint64_t seq) {
  records_[seq].state = MsgState::kFailed;
  --in_flight_;
  ++failed_;
}

void RunStats::OnDelivered(std::optional<uint64_t> seq, int64_t now_ns) {
  if (!seq || *seq >= records_.size()) {
    ++foreign_;
    return;
  }
  Record& r = records_[*seq];
  if (r.deliveries > 0) {
    ++duplicates_;
    if (r.deliveries < 255) ++r.deliveries;
    return;
  }
  r.deliveries = 1;
  ++delivered_;
  if (r.state == MsgState::kAccepted) {
    ++accepted_delivered_;
  } else {
    ++delivered_unaccepted_;  // in self mode the sink sees "." before the client sees 250
  }
  e2e_ns_.push_back(now_ns - r.start_ns);
  last_delivery_ns_ = now_ns;
}

uint64_t RunStats::Lost() const { return accepted_ - accepted_delivered_; }

namespace {
nlohmann::json PercentileJson(const Percentiles& p) {
  return {{"p50", p.p50_ms},
          {"p99", p.p99_ms},
          {"p999", p.p999_ms},
          {"max", p.max_ms},
          {"count", p.count}};
}
}  // namespace

nlohmann::json RunStats::Report(const ReportInfo& info) {
  auto submit = ComputePercentiles(submit_ns_);
  auto e2e = ComputePercentiles(e2e_ns_);
  double duration_s = 0, send_duration_s = 0;
  if (first_send_ns_ >= 0 && last_delivery_ns_ >= 0) {
    duration_s = static_cast<double>(last_delivery_ns_ - first_send_ns_) / 1e9;
  }
  if (first_send_ns_ >= 0 && last_accept_ns_ >= 0) {
    send_duration_s = static_cast<double>(last_accept_ns_ - first_send_ns_) / 1e9;
  }
  nlohmann::json j;
  j["run_id"] = info.run_id;
  j["sent"] = sent_;
  j["accepted"] = accepted_;
  j["rejected_4xx"] = rejected_4xx_;
  j["rejected_5xx"] = rejected_5xx_;
  j["connection_errors"] = connection_errors_;
  j["delivered"] = delivered_;
  j["lost"] = Lost();
  j["duplicates"] = duplicates_;
  j["foreign"] = foreign_;
  j["bytes_sent"] = bytes_sent_;
  j["duration_s"] = duration_s;
  j["send_duration_s"] = send_duration_s;
  j["throughput_msgs_per_s"] = duration_s > 0 ? static_cast<double>(delivered_) / duration_s : 0.0;
  j["submit_latency_ms"] = PercentileJson(submit);
  j["e2e_latency_ms"] = PercentileJson(e2e);
  j["rate_target"] = info.rate ? nlohmann::json(*info.rate) : nlohmann::json(nullptr);
  j["connections"] = info.connections;
  j["size"] = info.size;
  // Additions beyond the contract.
  j["failed_in_flight"] = failed_;
  j["delivered_unaccepted"] = delivered_unaccepted_;
  j["drain_timed_out"] = info.drain_timed_out;
  j["target_unreachable"] = info.target_unreachable;
  return j;
}

}  // namespace sg::bench::loadgen
