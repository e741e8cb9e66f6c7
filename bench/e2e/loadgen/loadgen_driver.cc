#include "bench/e2e/loadgen/loadgen_driver.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <utility>

namespace sg::bench::loadgen {

namespace {
int64_t NowNs() { return static_cast<int64_t>(uv_hrtime()); }
constexpr uint64_t kTickMs = 20;
constexpr uint64_t kMaxErrorsPrinted = 5;

bool ToSockaddr(const std::string& host, int port, sockaddr_storage& out) {
  return uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0 ||
         uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0;
}
}  // namespace

Driver::Driver(Options options, const MessageFactory& factory)
    : options_(std::move(options)), factory_(factory) {
  uv_loop_init(&loop_);
}

Driver::~Driver() {
  sessions_.clear();
  sink_.reset();
  uv_loop_close(&loop_);
}

int Driver::Run() {
  run_start_ns_ = NowNs();
  last_connected_ns_ = run_start_ns_;
  sink_ = std::make_unique<Sink>(
      &loop_, [this](const std::optional<std::string>& id) { OnDelivery(id); }, options_.dump_dir);
  std::string err = sink_->Listen(options_.sink.host, options_.sink.port);
  if (!err.empty()) {
    std::fprintf(stderr, "smimegate-bench-smtp: %s\n", err.c_str());
    sink_->Close([] {});
    uv_run(&loop_, UV_RUN_DEFAULT);
    return 2;
  }
  if (!options_.quiet || options_.sink.port == 0) {
    std::fprintf(stderr, "sink-port %d\n", sink_->port());
  }

  ClientSession::Config cc;
  cc.from = options_.from;
  cc.reply_timeout_s = options_.reply_timeout_s;
  HostPort target = options_.target;
  if (options_.target_self) {
    target.host = options_.sink.host == "0.0.0.0" ? "127.0.0.1"
                  : options_.sink.host == "::"    ? "::1"
                                                  : options_.sink.host;
    target.port = sink_->port();
  }
  target_text_ = target.host + ":" + std::to_string(target.port);
  if (!ToSockaddr(target.host, target.port, cc.target)) {
    std::fprintf(stderr, "smimegate-bench-smtp: --target: '%s' is not a numeric IP address\n",
                 target.host.c_str());
    sink_->Close([] {});
    uv_run(&loop_, UV_RUN_DEFAULT);
    return 2;
  }

  uv_timer_init(&loop_, &tick_timer_);
  tick_timer_.data = this;
  uv_timer_start(&tick_timer_, &Driver::OnTick, kTickMs, kTickMs);
  uv_timer_init(&loop_, &rate_timer_);
  rate_timer_.data = this;

  for (int i = 0; i < options_.connections; ++i) {
    sessions_.push_back(std::make_unique<ClientSession>(&loop_, cc, factory_, *this));
  }
  for (auto& s : sessions_) s->Connect();

  uv_run(&loop_, UV_RUN_DEFAULT);

  RunStats::ReportInfo info;
  info.run_id = options_.run_id;
  info.rate = options_.rate;
  info.connections = options_.connections;
  info.size = options_.template_file.empty() ? options_.size : factory_.MessageBytes();
  info.drain_timed_out = end_ == End::kDrainTimeout;
  info.target_unreachable = end_ == End::kUnreachable;
  nlohmann::json report = stats_.Report(info);
  report["sink_sessions_open_at_exit"] = sink_open_at_exit_;
  std::string text = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::cout << text << std::endl;
  int code = 0;
  if (!options_.json_file.empty()) {
    std::ofstream f(options_.json_file, std::ios::binary | std::ios::trunc);
    f << text << "\n";
    if (!f) {
      std::fprintf(stderr, "smimegate-bench-smtp: cannot write --json %s\n",
                   options_.json_file.c_str());
      code = 2;
    }
  }
  if (end_ == End::kUnreachable) {
    if (!ever_connected_) {
      std::fprintf(stderr,
                   "smimegate-bench-smtp: cannot connect to target %s: %s (no connection "
                   "succeeded within %.1f s)\n",
                   target_text_.c_str(), last_connect_error_.c_str(), options_.connect_timeout_s);
      return 2;
    }
    std::fprintf(stderr, "smimegate-bench-smtp: target %s became unreachable (%s); stopped early\n",
                 target_text_.c_str(), last_connect_error_.c_str());
  }
  if (end_ == End::kDrainTimeout) {
    std::fprintf(stderr,
                 "smimegate-bench-smtp: drain timeout: %llu accepted message(s) not delivered\n",
                 static_cast<unsigned long long>(stats_.Lost()));
  }
  uint64_t lost = report["lost"].get<uint64_t>();
  uint64_t dups = report["duplicates"].get<uint64_t>();
  if (report["accepted"].get<uint64_t>() == 0) {
    std::fprintf(stderr, "smimegate-bench-smtp: warning: no message was accepted by %s\n",
                 target_text_.c_str());
  }
  if (lost > 0 || dups > 0 || end_ == End::kUnreachable) return code != 0 ? code : 1;
  return code;
}

void Driver::StartClock(int64_t now) {
  if (t0_ns_ >= 0) return;
  t0_ns_ = now;
  if (options_.rate) GenerateDue(now);
}

bool Driver::MoreClosedLoop(int64_t now) const {
  if (options_.messages) return stats_.issued() < *options_.messages;
  return static_cast<double>(now - t0_ns_) / 1e9 < *options_.duration_s;
}

bool Driver::IssuingDone() const {
  if (t0_ns_ < 0) return false;
  if (options_.rate) return generation_done_ && due_.empty();
  return !MoreClosedLoop(NowNs());
}

void Driver::GenerateDue(int64_t now) {
  if (generation_done_) return;
  const double interval_ns = 1e9 / *options_.rate;
  for (;;) {
    int64_t due =
        t0_ns_ + static_cast<int64_t>(std::llround(static_cast<double>(generated_) * interval_ns));
    bool more = options_.messages ? generated_ < *options_.messages
                                  : static_cast<double>(due - t0_ns_) / 1e9 < *options_.duration_s;
    if (!more) {
      generation_done_ = true;
      break;
    }
    if (due > now) {
      // Timers count from the loop's cached clock; refresh it so the timer is
      // not armed from a stale base (never send before the due time).
      uv_update_time(&loop_);
      int64_t wait_ms = (due - now + 999999) / 1000000;
      uv_timer_start(&rate_timer_, &Driver::OnRateTimer, static_cast<uint64_t>(wait_ms), 0);
      break;
    }
    due_.push_back(stats_.NewMessage(due));
    ++generated_;
  }
  DispatchDue();
}

void Driver::OnRateTimer(uv_timer_t* t) {
  auto* self = static_cast<Driver*>(t->data);
  if (self->end_ != End::kNone) return;
  self->GenerateDue(NowNs());
}

void Driver::DispatchDue() {
  for (auto& s : sessions_) {
    if (due_.empty()) break;
    if (!s->idle()) continue;
    uint64_t seq = due_.front();
    due_.pop_front();
    StartOn(*s, seq);
  }
  if (IssuingDone()) QuitIdleSessions();
}

void Driver::StartOn(ClientSession& s, uint64_t seq) {
  stats_.OnTransactionStarted(NowNs());
  s.StartTransaction(seq);
}

void Driver::QuitIdleSessions() {
  for (auto& s : sessions_) {
    if (s->idle()) s->Quit();
  }
}

void Driver::OnIdle(ClientSession& s) {
  if (end_ != End::kNone) return;
  int64_t now = NowNs();
  ever_connected_ = true;
  last_connected_ns_ = now;
  StartClock(now);
  if (!s.idle()) return;  // the first open-loop dispatch may already have used it
  if (options_.rate) {
    if (!due_.empty()) {
      uint64_t seq = due_.front();
      due_.pop_front();
      StartOn(s, seq);
    } else if (IssuingDone()) {
      s.Quit();
      CheckDone(now);
    }
    return;
  }
  if (MoreClosedLoop(now)) {
    StartOn(s, stats_.NewMessage(now));
  } else {
    s.Quit();
    CheckDone(now);
  }
}

void Driver::OnSent(uint64_t bytes) { stats_.AddBytes(bytes); }

void Driver::OnAccepted(uint64_t seq) {
  int64_t now = NowNs();
  stats_.OnAccepted(seq, now);
  CheckDone(now);
}

void Driver::OnRejected(uint64_t seq, int code) {
  stats_.OnRejected(seq, code);
  CheckDone(NowNs());
}

void Driver::OnFailed(uint64_t seq) {
  stats_.OnFailed(seq);
  CheckDone(NowNs());
}

void Driver::OnConnectionError(ClientSession&, const std::string& why) {
  stats_.OnConnectionError();
  last_connect_error_ = why;
  if (!options_.quiet && errors_printed_ < kMaxErrorsPrinted && end_ == End::kNone) {
    ++errors_printed_;
    std::fprintf(stderr, "smimegate-bench-smtp: connection to %s: %s%s\n", target_text_.c_str(),
                 why.c_str(),
                 errors_printed_ == kMaxErrorsPrinted ? " (further errors not shown)" : "");
  }
}

void Driver::OnClosed(ClientSession&) {}

void Driver::OnDelivery(const std::optional<std::string>& bench_id) {
  std::optional<uint64_t> seq;
  if (bench_id) seq = ParseBenchId(*bench_id, options_.run_id);
  int64_t now = NowNs();
  stats_.OnDelivered(seq, now);
  CheckDone(now);
}

void Driver::CheckDone(int64_t now) {
  if (end_ != End::kNone || pending_end_ != End::kNone) return;
  if (!IssuingDone() || stats_.in_flight() > 0) return;
  if (drain_start_ns_ < 0) drain_start_ns_ = now;
  if (stats_.accepted_delivered() == stats_.accepted()) BeginEnd(End::kDone, now);
}

void Driver::BeginEnd(End how, int64_t now) {
  if (pending_end_ != End::kNone) return;
  pending_end_ = how;
  linger_until_ns_ = now + (how == End::kDone ? static_cast<int64_t>(options_.linger_s * 1e9) : 0);
  close_deadline_ns_ = now + static_cast<int64_t>(options_.wait_sink_close_s * 1e9);
  QuitIdleSessions();
  MaybeEnd(now);
}

void Driver::MaybeEnd(int64_t now) {
  if (pending_end_ == End::kNone || end_ != End::kNone) return;
  if (now < linger_until_ns_) return;
  if (sink_->open_sessions() > 0 && now < close_deadline_ns_) return;
  Finish(pending_end_);
}

void Driver::OnTick(uv_timer_t* t) {
  auto* self = static_cast<Driver*>(t->data);
  if (self->end_ != End::kNone) return;
  int64_t now = NowNs();
  bool any_connected = false;
  for (auto& s : self->sessions_) {
    s->CheckTimeout(now);
    if (s->connected()) any_connected = true;
  }
  if (any_connected) self->last_connected_ns_ = now;
  if (self->options_.progress && now >= self->next_progress_ns_) {
    self->next_progress_ns_ = now + 1000000000;
    const RunStats& st = self->stats_;
    std::fprintf(stderr,
                 "progress t=%.1fs sent=%llu accepted=%llu rejected=%llu delivered=%llu "
                 "in_flight=%llu queued=%zu connection_errors=%llu\n",
                 static_cast<double>(now - self->run_start_ns_) / 1e9,
                 static_cast<unsigned long long>(st.sent()),
                 static_cast<unsigned long long>(st.accepted()),
                 static_cast<unsigned long long>(st.rejected()),
                 static_cast<unsigned long long>(st.delivered()),
                 static_cast<unsigned long long>(st.in_flight()), self->due_.size(),
                 static_cast<unsigned long long>(st.connection_errors()));
  }
  if (self->end_ != End::kNone) return;
  if (!self->IssuingDone() || self->stats_.in_flight() > 0) {
    double idle_s = static_cast<double>(now - self->last_connected_ns_) / 1e9;
    if (idle_s > self->options_.connect_timeout_s) self->Finish(End::kUnreachable);
    return;
  }
  if (self->IssuingDone()) self->QuitIdleSessions();
  self->CheckDone(now);
  if (self->pending_end_ != End::kNone) {
    self->MaybeEnd(now);
    return;
  }
  if (self->drain_start_ns_ >= 0 &&
      static_cast<double>(now - self->drain_start_ns_) / 1e9 > self->options_.drain_timeout_s) {
    self->BeginEnd(End::kDrainTimeout, now);
  }
}

void Driver::Finish(End how) {
  if (end_ != End::kNone) return;
  end_ = how;
  uv_timer_stop(&tick_timer_);
  uv_timer_stop(&rate_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&rate_timer_), nullptr);
  sink_open_at_exit_ = sink_->open_sessions();
  for (auto& s : sessions_) s->Close();
  sink_->Close([] {});
}

}  // namespace sg::bench::loadgen
