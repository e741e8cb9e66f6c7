// A SessionHost for driving smtp_session without sockets: collects output,
// records STARTTLS/close, runs "blocking" work inline, and holds or answers
// enqueues as the test says.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/queue.h"
#include "ingress/smtp_session.h"
#include "ingress/ingress_envelope.h"

namespace sg::ingress::testing {

class FakeSessionHost : public SessionHost {
 public:
  enum class AckMode { kOk, kFail, kTimeout, kHold };

  void Send(std::string_view bytes) override { out.append(bytes); }
  void StartTls() override { ++tls_started; }
  void Close() override { closed = true; }
  void Enqueue(queue::OutRecord record, std::function<void(Status)> done) override {
    switch (ack_mode) {
      case AckMode::kOk:
        records.push_back(std::move(record));
        done(OkStatus());
        break;
      case AckMode::kFail:
        done(MakeError(ErrorCode::kUnavailable, "queue down"));
        break;
      case AckMode::kTimeout:
        done(MakeError(ErrorCode::kTimeout, "no ack"));
        break;
      case AckMode::kHold:
        held.push_back({std::move(record), std::move(done)});
        break;
    }
  }
  void RunBlocking(BlockingWork kind, std::function<void()> work,
                   std::function<void(bool)> done) override {
    ++blocking_runs;
    last_blocking = kind;
    if (pool_full) {
      done(false);
      return;
    }
    work();
    done(true);
  }
  int64_t NowMs() override { return now_ms; }

  // Acks the oldest held record (stores it when ok).
  void ReleaseHeld(bool ok) {
    auto h = std::move(held.front());
    held.pop_front();
    if (ok) records.push_back(std::move(h.record));
    h.done(ok ? OkStatus() : Status(MakeError(ErrorCode::kUnavailable, "queue down")));
  }

  // Output since the last call.
  std::string Take() {
    std::string s = std::move(out);
    out.clear();
    return s;
  }

  smimegate::v1::MessageRecord Parsed(size_t i) const {
    smimegate::v1::MessageRecord rec;
    rec.ParseFromString(records.at(i).value);
    return rec;
  }

  struct Held {
    queue::OutRecord record;
    std::function<void(Status)> done;
  };
  std::string out;
  bool closed = false;
  bool pool_full = false;  // RunBlocking refuses, as a saturated pool does
  int blocking_runs = 0;
  BlockingWork last_blocking = BlockingWork::kAuth;
  int tls_started = 0;
  AckMode ack_mode = AckMode::kOk;
  std::vector<queue::OutRecord> records;
  std::deque<Held> held;
  int64_t now_ms = 1700000000000;
};

// "250 2.1.0" (or "354") for each final reply line in `out`.
inline std::vector<std::string> ReplyCodes(const std::string& out) {
  std::vector<std::string> codes;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t eol = out.find("\r\n", pos);
    std::string line = out.substr(pos, eol - pos);
    pos = eol == std::string::npos ? out.size() : eol + 2;
    if (line.size() >= 4 && line[3] == '-') continue;
    std::string code = line.substr(0, 3);
    if (line.size() > 9 && line[4] >= '2' && line[4] <= '5' && line[5] == '.') {
      code += " " + line.substr(4, line.find(' ', 4) - 4);
    }
    codes.push_back(code);
  }
  return codes;
}

// Deterministic ids: MSG1, MSG2, ...
class CountingIds : public MessageIdGenerator {
 public:
  std::string Next() override { return "MSG" + std::to_string(++n_); }

 private:
  int n_ = 0;
};

}  // namespace sg::ingress::testing
