// The run: wires sink, client sessions, message factory and stats on one
// libuv loop, schedules messages (closed or open loop), drains, reports.
//
// Scheduling: closed loop = every idle connection immediately starts the next
// message; open loop (--rate R) = message i is due at t0 + i/R, queued until a
// connection is idle, and its latency counts from the due time (so a slow
// server cannot hide queueing delay: no coordinated omission).
// Threading: everything on the calling thread's loop. Run() returns when done.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "bench/e2e/loadgen/loadgen_client.h"
#include "bench/e2e/loadgen/loadgen_message.h"
#include "bench/e2e/loadgen/loadgen_options.h"
#include "bench/e2e/loadgen/loadgen_sink.h"
#include "bench/e2e/loadgen/loadgen_stats.h"

namespace sg::bench::loadgen {

class Driver : public ClientHooks {
 public:
  Driver(Options options, const MessageFactory& factory);
  ~Driver() override;

  // Runs the whole measurement; prints the JSON report; returns the exit code
  // (0 all accepted delivered once, 1 lost/duplicated, 2 setup error/unreachable).
  int Run();

  void OnIdle(ClientSession& s) override;
  void OnSent(uint64_t bytes) override;
  void OnAccepted(uint64_t seq) override;
  void OnRejected(uint64_t seq, int code) override;
  void OnFailed(uint64_t seq) override;
  void OnConnectionError(ClientSession& s, const std::string& why) override;
  void OnClosed(ClientSession& s) override;

 private:
  enum class End { kNone, kDone, kDrainTimeout, kUnreachable };

  static void OnTick(uv_timer_t* t);
  static void OnRateTimer(uv_timer_t* t);
  void StartClock(int64_t now);
  bool MoreClosedLoop(int64_t now) const;
  void GenerateDue(int64_t now);
  void DispatchDue();
  void StartOn(ClientSession& s, uint64_t seq);
  void QuitIdleSessions();
  void CheckDone(int64_t now);
  void BeginEnd(End how, int64_t now);
  void MaybeEnd(int64_t now);
  void Finish(End how);
  void OnDelivery(const std::optional<std::string>& bench_id);
  bool IssuingDone() const;

  Options options_;
  const MessageFactory& factory_;
  uv_loop_t loop_{};
  RunStats stats_;
  std::unique_ptr<Sink> sink_;
  std::vector<std::unique_ptr<ClientSession>> sessions_;
  uv_timer_t tick_timer_{}, rate_timer_{};

  int64_t run_start_ns_ = 0;
  int64_t t0_ns_ = -1;             // first connection ready: the schedule's origin
  int64_t last_connected_ns_ = 0;  // some session was connected at this time
  int64_t drain_start_ns_ = -1;
  End pending_end_ = End::kNone;    // decided; waiting for linger / sink close
  int64_t linger_until_ns_ = -1;    // complete: keep the sink for late duplicates
  int64_t close_deadline_ns_ = -1;  // waiting for the peer to close sink sessions
  int64_t next_progress_ns_ = 0;
  size_t sink_open_at_exit_ = 0;  // complete; waiting for late duplicates
  uint64_t generated_ = 0;        // open loop: messages made due so far
  bool generation_done_ = false;  // open loop
  std::deque<uint64_t> due_;      // open loop: due, not yet started
  bool ever_connected_ = false;
  End end_ = End::kNone;
  std::string last_connect_error_;
  uint64_t errors_printed_ = 0;
  std::string target_text_;
};

}  // namespace sg::bench::loadgen
