// One client SMTP connection of the load generator.
//
// Purpose: connect, read the greeting, EHLO once, then run transactions on
// request: "MAIL FROM / RCPT TO / DATA" in one write (PIPELINING), the message
// as one multi-buffer write after 354, and report the outcome of each message
// to the hooks. A failed transaction is followed by RSET (pipelined in front of
// the next MAIL). A dropped connection is reported and re-established after a
// short back-off; the message in flight is reported failed, never retried.
// Threading: loop thread only.
// Ownership: owned by the driver; must stay alive until Close() has called
// hooks.OnClosed (libuv handles are members).
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "bench/e2e/loadgen/loadgen_message.h"
#include "bench/e2e/loadgen/loadgen_reply_parser.h"

namespace sg::bench::loadgen {

class ClientSession;

// Implemented by the driver; called from the session's callbacks.
class ClientHooks {
 public:
  virtual ~ClientHooks() = default;
  // The session can take a transaction (after EHLO, after each message).
  virtual void OnIdle(ClientSession& s) = 0;
  virtual void OnSent(uint64_t bytes) = 0;
  virtual void OnAccepted(uint64_t seq) = 0;
  virtual void OnRejected(uint64_t seq, int code) = 0;
  virtual void OnFailed(uint64_t seq) = 0;
  // Connect refused/reset/timeout or a broken greeting/EHLO/protocol.
  virtual void OnConnectionError(ClientSession& s, const std::string& why) = 0;
  // Both handles closed after Close().
  virtual void OnClosed(ClientSession& s) = 0;
};

class ClientSession {
 public:
  struct Config {
    sockaddr_storage target{};
    std::string from;
    double reply_timeout_s = 60;
  };

  ClientSession(uv_loop_t* loop, Config config, const MessageFactory& factory, ClientHooks& hooks);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  void Connect();
  // Requires idle(): MAIL/RCPT/DATA for message seq (pipelined, one write).
  void StartTransaction(uint64_t seq);
  // Requires idle(): sends QUIT and closes after the reply (or EOF).
  void Quit();
  // Closes both handles now; an in-flight message is reported failed.
  void Close();
  // Called periodically; drops the connection when a reply is overdue.
  void CheckTimeout(int64_t now_ns);

  bool idle() const { return state_ == State::kIdle && pending_writes_ == 0; }
  bool done() const { return state_ == State::kDone; }
  // Past EHLO and not broken: the target is reachable through this session.
  bool connected() const {
    return state_ == State::kIdle || state_ == State::kBusy || state_ == State::kQuitting;
  }

 private:
  enum class State {
    kConnecting,
    kGreeting,
    kEhlo,
    kIdle,
    kBusy,
    kQuitting,
    kBackoff,
    kClosing,
    kDone
  };
  enum class Expect : uint8_t { kRset, kMail, kRcpt, kData, kDot };

  static void OnConnect(uv_connect_t* req, int status);
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnTcpClosed(uv_handle_t* h);
  static void OnTimerClosed(uv_handle_t* h);
  static void OnBackoff(uv_timer_t* t);

  void HandleReply(int code);
  void FinishMessage();
  void Write(uv_write_t* req, const uv_buf_t* bufs, unsigned n);
  void Drop(const std::string& why);  // connection broke: report, back off, reconnect
  void StartTcp();
  void MaybeIdle();

  uv_loop_t* loop_;
  Config config_;
  const MessageFactory& factory_;
  ClientHooks& hooks_;

  uv_tcp_t tcp_{};
  uv_timer_t backoff_timer_{};
  uv_connect_t connect_req_{};
  uv_write_t cmd_req_{}, data_req_{};
  bool tcp_open_ = false;
  int handles_open_ = 0;
  bool closing_for_good_ = false;
  State state_ = State::kBackoff;
  int pending_writes_ = 0;
  ReplyParser parser_;

  // Ring of replies expected for the current pipeline.
  Expect expect_[8]{};
  int expect_head_ = 0, expect_count_ = 0;

  bool need_rset_ = false;
  bool in_message_ = false;
  uint64_t seq_ = 0;
  int fail_code_ = 0;
  int64_t waiting_since_ns_ = -1;  // a reply is outstanding since then
  std::string cmd_buf_;
  std::string header_buf_;
  char read_buf_[64 * 1024];
};

}  // namespace sg::bench::loadgen
