// One client TCP connection to an SMTP server on a libuv loop: connect,
// send commands (pipelined or one by one), collect replies in order,
// STARTTLS over memory BIOs. Protocol decisions (EHLO, transactions) are in
// egress_smtp_session.h; this class only moves bytes and replies.
//
// Threading: loop thread only.
// Ownership: created with Create(), destroyed by Close() once libuv has
// closed its handles. After Close() no callback of this object runs again.
// Every reply has its own deadline, and message data one per block written
// and one for the whole (kTimeout, naming the stage and its config key); a
// peer that closes or sends garbage fails the pending operation
// (kUnavailable / kCorruption) and marks the connection broken().
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "egress/egress_smtp_reply.h"
#include "egress/egress_timer.h"
#include "egress/egress_tls.h"

namespace sg::egress {

// A command and how long its reply may take.
struct SmtpCommand {
  std::string line;  // without CRLF
  std::chrono::milliseconds timeout{0};
  std::string what;  // for the timeout error: "the reply to RCPT (egress.smtp.rcpt_timeout)"
};

// Deadlines for writing message data (RFC 5321 4.5.3.2 "data block" and
// "DATA termination"), plus an overall budget for the whole write.
struct DataDeadlines {
  std::chrono::milliseconds block{0};   // each block handed to the socket
  std::chrono::milliseconds budget{0};  // all blocks
  std::chrono::milliseconds done{0};    // the reply after the last byte
};

class SmtpConnection {
 public:
  using StatusCallback = std::function<void(Status)>;
  using RepliesCallback = std::function<void(Result<std::vector<SmtpReply>>)>;

  // `timers` outlives the connection.
  static SmtpConnection* Create(uv_loop_t* loop, Timers& timers);
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Connects (within connect_timeout) and reads the greeting (within
  // greeting_timeout after the connect), returned as the only reply.
  void Connect(const sockaddr* addr, std::chrono::milliseconds connect_timeout,
               std::chrono::milliseconds greeting_timeout, RepliesCallback done);

  // Sends each command (CRLF appended) and collects one reply per command,
  // each within its command's timeout from the previous reply (or the send).
  // pipelined: all at once (RFC 2920); otherwise one after the other.
  void Exchange(std::vector<SmtpCommand> commands, bool pipelined, RepliesCallback done);

  // Writes raw bytes (the dot-stuffed message and its terminator) in blocks
  // of kDataBlock, and reads one reply.
  void SendData(std::string data, const DataDeadlines& deadlines, RepliesCallback done);
  static constexpr size_t kDataBlock = 64 << 10;

  // Starts TLS after a 220 to STARTTLS. Bytes the peer sent in plain text
  // after that reply are an injection attempt and fail the handshake.
  void StartTls(std::unique_ptr<TlsSession> tls, std::chrono::milliseconds timeout,
                StatusCallback done);

  // Sends bytes without waiting for a reply (QUIT before Close).
  void SendOnly(std::string data);

  void Close();

  bool broken() const { return broken_; }
  bool tls_active() const { return tls_ != nullptr && !handshaking_; }
  const TlsSession* tls() const { return tls_.get(); }

 private:
  SmtpConnection(uv_loop_t* loop, Timers& timers);
  ~SmtpConnection() = default;

  // Waits for one reply per deadline (armed one after the other).
  void Expect(std::vector<SmtpCommand> deadlines, bool arm_first, RepliesCallback done);
  void ArmReplyTimer();
  // `written` runs once the bytes are handed to the socket (not on failure).
  void WriteRaw(std::string data, std::function<void()> written = nullptr);
  void WriteView(std::string_view data, std::function<void()> written);
  void WritePlain(std::string data);
  void WriteNextBlock();
  struct WriteReq;
  void Submit(WriteReq* w, uv_buf_t buf);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnPlaintext(std::string_view data);
  void DriveHandshake();
  void Fail(Error error);
  void Finish(Result<std::vector<SmtpReply>> result);
  void SendNextUnpipelined();

  uv_loop_t* loop_;
  uv_tcp_t tcp_{};
  std::unique_ptr<Timer> timer_;         // the operation in progress
  std::unique_ptr<Timer> budget_timer_;  // the whole message data
  uv_connect_t connect_req_{};
  bool closing_ = false;
  bool broken_ = false;
  bool reading_ = false;

  ReplyParser parser_;
  size_t want_replies_ = 0;
  std::vector<SmtpReply> got_;
  RepliesCallback pending_;
  std::vector<SmtpCommand> expected_;    // one per reply still to come (from got_.size())
  std::vector<std::string> unpipelined_;  // commands still to send one by one
  size_t unpipelined_next_ = 0;
  // Message data being written (SendData).
  std::string data_;
  size_t data_pos_ = 0;
  DataDeadlines data_deadlines_;

  std::unique_ptr<TlsSession> tls_;
  bool handshaking_ = false;
  StatusCallback tls_done_;
};

}  // namespace sg::egress
