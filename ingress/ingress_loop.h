// One event loop of the ingress server: a thread running a libuv loop that
// accepts on its own SO_REUSEPORT sockets (one per listener) and owns the
// connections it accepted (ingress_connection.h). The server runs one loop
// per core; the kernel spreads new connections over them.
//
// Threading: Start/Stop/Join from the main thread; everything else on the
// loop thread. PostQueue::Post is the only way in from other threads (the
// queue's ack callbacks); posts after the loop ended are dropped.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/queue.h"
#include "ingress/ingress_auth.h"
#include "ingress/ingress_blocking_pool.h"
#include "ingress/ingress_byte_budget.h"
#include "ingress/ingress_config.h"
#include "ingress/ingress_envelope.h"
#include "ingress/ingress_failure_limiter.h"
#include "ingress/ingress_metrics.h"
#include "ingress/ingress_steps.h"
#include "ingress/ingress_tls.h"
#include "ingress/smtp_session_state.h"

namespace sg::ingress {

class Connection;

// Everything about one configured listener that sessions need; built once
// by the server, shared read-only by all loops (TLS holder: thread-safe).
struct ListenerRuntime {
  ListenerConfig config;
  SessionConfig session;
  std::vector<std::shared_ptr<SessionStep>> steps;
  std::unique_ptr<TlsContextHolder> tls;  // null without STARTTLS
  uint16_t bound_port = 0;
  std::set<ino_t> socket_inodes;  // our listening sockets (ingress_port_check.h)
};

// Server-wide dependencies, all outliving the loops.
struct LoopDeps {
  const IngressConfig* config = nullptr;
  queue::Producer* producer = nullptr;
  Authenticator* authenticator = nullptr;
  MessageIdGenerator* ids = nullptr;
  IngressMetrics* metrics = nullptr;
  ByteBudget* budget = nullptr;
  BlockingPool* auth_pool = nullptr;       // argon2 checks
  BlockingPool* recipient_pool = nullptr;  // recipient verification
  FailureLimiter* auth_user_limit = nullptr;
  FailureLimiter* auth_client_limit = nullptr;
  RecipientVerifier* verifier = nullptr;      // null: no recipient verification
  FailureLimiter* rcpt_failure_limit = nullptr;
};

class PostQueue {
 public:
  void Attach(uv_async_t* async);
  // Any thread: run f on the loop thread soon (dropped after Close).
  void Post(std::function<void()> f);
  // Loop thread: run what was posted.
  void Drain();
  void Close();

 private:
  std::mutex mu_;
  uv_async_t* async_ = nullptr;
  bool closed_ = false;
  std::vector<std::function<void()>> items_;
};

class IngressLoop {
 public:
  IngressLoop(LoopDeps deps, int index);
  ~IngressLoop();
  IngressLoop(const IngressLoop&) = delete;
  IngressLoop& operator=(const IngressLoop&) = delete;

  // Takes ownership of the listening sockets; returns once they listen.
  Status Start(std::vector<std::pair<ListenerRuntime*, int>> sockets);
  // Stops accepting; sessions finish within `grace`, then are closed.
  void Stop(std::chrono::milliseconds grace);
  void Join();

  // Loop thread only.
  uv_loop_t* uv() { return &loop_; }
  const std::shared_ptr<PostQueue>& posts() const { return posts_; }
  const LoopDeps& deps() const { return deps_; }
  void Remove(Connection* conn);

 private:
  struct Listener {
    uv_tcp_t handle;
    ListenerRuntime* runtime;
    IngressLoop* loop;
  };
  void Run();
  void BeginStop(std::chrono::milliseconds grace);
  void MaybeFinish();
  static void OnConnection(uv_stream_t* server, int status);

  LoopDeps deps_;
  int index_;
  uv_loop_t loop_{};
  uv_async_t async_{};
  uv_timer_t grace_timer_{};
  std::shared_ptr<PostQueue> posts_ = std::make_shared<PostQueue>();
  std::vector<Listener*> listeners_;
  size_t listeners_open_ = 0;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread thread_;
};

}  // namespace sg::ingress
