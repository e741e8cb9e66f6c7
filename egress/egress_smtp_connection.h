// One client TCP connection to an SMTP server on a libuv loop: connect,
// send commands (pipelined or one by one), collect replies in order,
// STARTTLS over memory BIOs. Protocol decisions (EHLO, transactions) are in
// egress_smtp_session.h; this class only moves bytes and replies.
//
// Threading: loop thread only.
// Ownership: created with Create(), destroyed by Close() once libuv has
// closed its handles. After Close() no callback of this object runs again.
// Every operation has a deadline (kTimeout); a peer that closes or sends
// garbage fails the pending operation (kUnavailable / kCorruption) and
// marks the connection broken().
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "egress/egress_smtp_reply.h"
#include "egress/egress_tls.h"

namespace sg::egress {

class SmtpConnection {
 public:
  using StatusCallback = std::function<void(Status)>;
  using RepliesCallback = std::function<void(Result<std::vector<SmtpReply>>)>;

  static SmtpConnection* Create(uv_loop_t* loop);
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Connects and reads the greeting (returned as the only reply).
  void Connect(const sockaddr* addr, std::chrono::milliseconds timeout, RepliesCallback done);

  // Sends each command (CRLF appended) and collects one reply per command.
  // pipelined: all at once (RFC 2920); otherwise one after the other.
  void Exchange(std::vector<std::string> commands, bool pipelined,
                std::chrono::milliseconds timeout, RepliesCallback done);

  // Sends raw bytes (the dot-stuffed message and its terminator) and reads one reply.
  void SendAndRead(std::string data, std::chrono::milliseconds timeout, RepliesCallback done);

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
  explicit SmtpConnection(uv_loop_t* loop);
  ~SmtpConnection() = default;

  void Expect(size_t replies, std::chrono::milliseconds timeout, RepliesCallback done);
  void WriteRaw(std::string data);
  void WritePlain(std::string data);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnPlaintext(std::string_view data);
  void DriveHandshake();
  void Fail(Error error);
  void Finish(Result<std::vector<SmtpReply>> result);
  void SendNextUnpipelined();

  uv_loop_t* loop_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  int open_handles_ = 0;
  bool closing_ = false;
  bool broken_ = false;
  bool reading_ = false;

  ReplyParser parser_;
  size_t want_replies_ = 0;
  std::vector<SmtpReply> got_;
  RepliesCallback pending_;
  std::vector<std::string> unpipelined_;  // commands still to send one by one
  size_t unpipelined_next_ = 0;
  std::chrono::milliseconds op_timeout_{0};

  std::unique_ptr<TlsSession> tls_;
  bool handshaking_ = false;
  StatusCallback tls_done_;
};

}  // namespace sg::egress
