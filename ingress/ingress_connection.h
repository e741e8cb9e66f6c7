// One client connection on an ingress loop: the libuv TCP handle, optional
// TLS (memory BIOs, ingress_tls.h), the idle and ack timers, and the Session
// it feeds. It is the SessionHost of the libuv server.
//
// Lifetime: created by IngressLoop on accept, deleted by it after every
// handle has closed. Callbacks from other threads (queue acks) reach it
// only through the loop's PostQueue and a token that is cleared when the
// connection closes, so a late ack never touches freed memory.
//
// Threading: loop thread only.
#pragma once

#include <uv.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "ingress/ingress_loop.h"
#include "ingress/ingress_tls.h"
#include "ingress/smtp_session.h"

namespace sg::ingress {

class Connection : public SessionHost {
 public:
  Connection(IngressLoop& loop, ListenerRuntime& listener);
  ~Connection() override;

  // Accepts the pending connection on `server` and sends the greeting.
  // On failure the connection closes itself (and is removed by the loop).
  void Accept(uv_stream_t* server);
  // The server is stopping: finish the current transaction, then 421.
  void Shutdown();
  // Grace period over: 421 and close now.
  void ForceClose();

  // SessionHost
  void Send(std::string_view bytes) override;
  void StartTls() override;
  void Close() override;
  void Enqueue(queue::OutRecord record, std::function<void(Status)> done) override;
  void RunBlocking(BlockingWork kind, std::function<void()> work,
                   std::function<void(bool)> done) override;
  int64_t NowMs() override;

 private:
  struct Token {
    Connection* conn;
  };
  struct WriteReq {
    uv_write_t req;
    std::string data;
    Connection* conn;
  };

  void HandleBytes(const char* data, size_t len);
  // The SMTP session for the client at ip:port (after the PROXY header when
  // the listener has one).
  void StartSession(const std::string& ip, uint16_t port);
  // proxy_protocol: v2 - buffers and parses the header; starts the session
  // with the header's client address, or closes (metric, log line).
  void HandleProxyHeader(const char* data, size_t len);
  void RefuseProxy(const std::string& result, const std::string& reason);
  void OnAck(uint64_t gen, Status status);
  void Flush();
  void ArmTimer();
  void CloseHandles();
  void AfterEvent();

  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnIdleTimer(uv_timer_t* t);
  static void OnAckTimer(uv_timer_t* t);
  static void OnSessionTimer(uv_timer_t* t);
  static void OnCloseTimer(uv_timer_t* t);
  static void OnHandleClosed(uv_handle_t* h);

  IngressLoop& loop_;
  ListenerRuntime& listener_;
  uv_tcp_t tcp_{};
  uv_timer_t idle_timer_{};       // idle timeouts; after Close() the close deadline
  uv_timer_t session_timer_{};    // timeouts.session
  uv_timer_t ack_timer_{};
  uv_shutdown_t shutdown_req_{};
  int handles_open_ = 0;
  bool tcp_open_ = false;
  bool closing_ = false;           // Close() requested: flush, then close
  bool handles_closing_ = false;
  std::unique_ptr<Session> session_;
  bool awaiting_proxy_ = false;  // proxy_protocol: v2 and the header is not complete yet
  std::string proxy_buf_;
  std::string socket_ip_;        // the load balancer, when a PROXY header names the client
  uint16_t socket_port_ = 0;
  std::unique_ptr<TlsEngine> tls_;
  bool tls_handshaking_ = false;
  bool read_paused_ = false;       // too many unsent replies (see AfterEvent)
  std::string out_;                // bytes for the socket, already encrypted under TLS
  std::function<void(Status)> ack_done_;
  uint64_t ack_gen_ = 0;
  std::shared_ptr<Token> token_;
  std::array<char, 65536> read_buf_{};
};

}  // namespace sg::ingress
