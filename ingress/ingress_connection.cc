#include "ingress/ingress_connection.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "ingress/ingress_proxy_protocol.h"

namespace sg::ingress {
namespace {

constexpr size_t kMaxUnsentBytes = 256 * 1024;

std::string PeerAddress(uv_tcp_t* tcp, uint16_t* port) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  *port = 0;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    uv_ip4_name(a, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    uv_ip6_name(a, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
    std::string s = buf;
    // Dual-stack sockets show IPv4 clients as ::ffff:a.b.c.d; record a.b.c.d.
    if (s.rfind("::ffff:", 0) == 0 && s.find('.') != std::string::npos) return s.substr(7);
    return s;
  }
  return buf;
}

}  // namespace

Connection::Connection(IngressLoop& loop, ListenerRuntime& listener)
    : loop_(loop), listener_(listener), token_(std::make_shared<Token>(Token{this})) {
  uv_tcp_init(loop_.uv(), &tcp_);
  uv_timer_init(loop_.uv(), &idle_timer_);
  uv_timer_init(loop_.uv(), &ack_timer_);
  uv_timer_init(loop_.uv(), &session_timer_);
  tcp_.data = idle_timer_.data = ack_timer_.data = session_timer_.data = this;
  handles_open_ = 4;
  tcp_open_ = true;
}

Connection::~Connection() {
  token_->conn = nullptr;
  if (loop_.deps().metrics && session_) loop_.deps().metrics->ConnectionClosed(
      listener_.config.name);
  session_.reset();
}

void Connection::Accept(uv_stream_t* server) {
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    CloseHandles();
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);
  socket_ip_ = PeerAddress(&tcp_, &socket_port_);
  if (!listener_.config.proxy_v2) {
    StartSession(socket_ip_, socket_port_);
    return;
  }
  // No SMTP byte before the header: the banner waits for the client address.
  if (!AnyContains(listener_.config.proxy_from, socket_ip_)) {
    RefuseProxy("untrusted_source", "not in proxy_protocol_from");
    return;
  }
  awaiting_proxy_ = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), OnAlloc, OnRead);
  uv_timer_start(&session_timer_, OnSessionTimer,
                 static_cast<uint64_t>(listener_.config.proxy_timeout.count()), 0);
}

void Connection::RefuseProxy(const std::string& result, const std::string& reason) {
  if (loop_.deps().metrics) loop_.deps().metrics->ProxyProtocol(listener_.config.name, result);
  spdlog::info("ingress {}: connection from {} closed: PROXY protocol: {}", listener_.config.name,
               socket_ip_, reason);
  CloseHandles();
}

void Connection::HandleProxyHeader(const char* data, size_t len) {
  proxy_buf_.append(data, len);
  const ProxyV2Result r = ParseProxyV2(proxy_buf_);
  if (r.state == ProxyV2Result::State::kNeedMore) return;
  if (r.state == ProxyV2Result::State::kError) {
    RefuseProxy(r.metric_reason, r.reason);
    return;
  }
  awaiting_proxy_ = false;
  uv_timer_stop(&session_timer_);
  if (loop_.deps().metrics) {
    loop_.deps().metrics->ProxyProtocol(listener_.config.name, r.local ? "local" : "accepted");
  }
  std::string rest = proxy_buf_.substr(r.consumed);
  proxy_buf_.clear();
  proxy_buf_.shrink_to_fit();
  if (r.local) {
    StartSession(socket_ip_, socket_port_);
  } else {
    StartSession(r.source_ip, r.source_port);
  }
  if (!rest.empty() && !handles_closing_) HandleBytes(rest.data(), rest.size());
}

void Connection::StartSession(const std::string& ip, uint16_t port) {
  bool trusted = AnyContains(listener_.config.trusted_networks, ip);
  const LoopDeps& d = loop_.deps();
  SessionDeps deps{&listener_.session, &listener_.steps, d.authenticator, d.ids, d.metrics,
                   d.budget,           d.auth_user_limit, d.auth_client_limit,
                   d.verifier,         d.rcpt_failure_limit};
  session_ = std::make_unique<Session>(deps, ip, port, trusted, *this);
  if (d.metrics) d.metrics->ConnectionOpened(listener_.config.name);
  if (!awaiting_proxy_) uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), OnAlloc, OnRead);
  uv_timer_start(&session_timer_, OnSessionTimer,
                 static_cast<uint64_t>(d.config->session_timeout.count()), 0);
  session_->Start();
  AfterEvent();
}

void Connection::AfterEvent() {
  Flush();
  ArmTimer();
  // A client that pipelines without reading our replies must not make us
  // buffer without bound: stop reading until the replies have drained.
  if (!read_paused_ && !closing_ && !handles_closing_ &&
      uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&tcp_)) > kMaxUnsentBytes) {
    read_paused_ = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  }
}

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  buf->base = c->read_buf_.data();
  buf->len = c->read_buf_.size();
}

void Connection::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  if (nread < 0) {
    // EOF or reset: a message whose data did not end is simply dropped.
    c->CloseHandles();
    return;
  }
  if (nread == 0 || c->handles_closing_) return;
  c->HandleBytes(buf->base, static_cast<size_t>(nread));
}

void Connection::HandleBytes(const char* data, size_t len) {
  if (closing_) return;  // after QUIT/421 nothing more is read
  if (awaiting_proxy_) {
    HandleProxyHeader(data, len);
    return;
  }
  if (!tls_) {
    session_->Feed(std::string_view(data, len));
    AfterEvent();
    return;
  }
  std::string plain, to_peer;
  auto ev = tls_->OnCiphertext(std::string_view(data, len), &plain, &to_peer);
  out_ += to_peer;
  if (!ev.ok()) {
    const std::string& listener = listener_.config.name;
    if (tls_handshaking_) {
      if (loop_.deps().metrics) loop_.deps().metrics->TlsHandshake(listener, "failed");
      spdlog::info("ingress {}: TLS handshake with {} failed: {}", listener,
                   session_->state().client_ip, ev.error().message);
    } else if (ev.error().code != ErrorCode::kCancelled) {
      spdlog::info("ingress {}: TLS error from {}: {}", listener, session_->state().client_ip,
                   ev.error().message);
    }
    Flush();  // the alert, if any
    CloseHandles();
    return;
  }
  if (*ev == TlsEngine::Event::kHandshakeDone) {
    tls_handshaking_ = false;
    if (loop_.deps().metrics) loop_.deps().metrics->TlsHandshake(listener_.config.name, "ok");
    session_->OnTlsUp(tls_->Info());
  }
  if (!plain.empty()) session_->Feed(plain);
  AfterEvent();
}

void Connection::Send(std::string_view bytes) {
  if (handles_closing_) return;
  if (tls_ && tls_->handshake_done()) {
    auto st = tls_->Write(bytes, &out_);
    if (!st.ok()) CloseHandles();
    return;
  }
  out_.append(bytes);
}

void Connection::Flush() {
  if (out_.empty() || handles_closing_) return;
  auto* w = new WriteReq;
  w->data = std::move(out_);
  out_.clear();
  w->conn = this;
  w->req.data = w;
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned int>(w->data.size()));
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, OnWrite) != 0) {
    delete w;
    CloseHandles();
  }
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Connection* c = w->conn;
  delete w;
  if (status < 0 && status != UV_ECANCELED) {
    c->CloseHandles();
    return;
  }
  if (c->read_paused_ && !c->closing_ && !c->handles_closing_ &&
      uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c->tcp_)) <
          kMaxUnsentBytes / 4) {
    c->read_paused_ = false;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), OnAlloc, OnRead);
  }
}

void Connection::ArmTimer() {
  if (handles_closing_ || closing_) return;
  std::optional<std::chrono::milliseconds> timeout;
  if (tls_handshaking_) {
    timeout = loop_.deps().config->tls_handshake_timeout;
  } else {
    timeout = session_->IdleTimeout();
  }
  if (timeout) {
    uv_timer_start(&idle_timer_, OnIdleTimer, static_cast<uint64_t>(timeout->count()), 0);
  } else {
    uv_timer_stop(&idle_timer_);
  }
}

void Connection::OnIdleTimer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->tls_handshaking_) {
    if (c->loop_.deps().metrics) {
      c->loop_.deps().metrics->TlsHandshake(c->listener_.config.name, "timeout");
    }
    c->CloseHandles();
    return;
  }
  c->session_->OnIdleTimeout();
  c->AfterEvent();
}

void Connection::OnSessionTimer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->closing_ || c->handles_closing_) return;
  if (c->awaiting_proxy_) {
    c->RefuseProxy("timeout", "no complete header within proxy_protocol_timeout");
    return;
  }
  if (c->tls_handshaking_) {
    c->CloseHandles();  // no plaintext reply in the middle of a handshake
    return;
  }
  c->session_->OnSessionDeadline();
  c->AfterEvent();
}

void Connection::OnCloseTimer(uv_timer_t* t) {
  // The peer has not taken our last bytes within timeouts.close (it stopped
  // reading): drop the connection instead of holding it open.
  auto* c = static_cast<Connection*>(t->data);
  if (c->loop_.deps().metrics) {
    c->loop_.deps().metrics->ProtocolError(c->listener_.config.name, "close_deadline");
  }
  c->CloseHandles();
}

void Connection::StartTls() {
  if (!listener_.tls) {
    CloseHandles();  // the session only asks when TLS is configured
    return;
  }
  tls_ = std::make_unique<TlsEngine>(listener_.tls->Get());
  tls_handshaking_ = true;
}

void Connection::Close() {
  if (closing_ || handles_closing_) return;
  closing_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  // The idle timer now bounds the close: a peer that never reads would keep
  // the shutdown (which waits for our queued writes) pending for ever.
  uv_timer_start(&idle_timer_, OnCloseTimer,
                 static_cast<uint64_t>(loop_.deps().config->close_timeout.count()), 0);
  uv_timer_stop(&session_timer_);
  if (tls_ && tls_->handshake_done()) tls_->Shutdown(&out_);
  Flush();
  // Shutdown waits for queued writes, so the last reply reaches the client.
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), OnShutdown) != 0) {
    CloseHandles();
  }
}

void Connection::OnShutdown(uv_shutdown_t* req, int) {
  static_cast<Connection*>(req->data)->CloseHandles();
}

void Connection::Shutdown() {
  if (closing_ || handles_closing_ || !session_) return;
  session_->Shutdown();
  AfterEvent();
}

void Connection::ForceClose() {
  if (handles_closing_) return;
  // No reply in the middle of a TLS handshake: it would be plaintext garbage.
  if (!closing_ && session_ && !tls_handshaking_) {
    Send("421 4.3.2 Service shutting down\r\n");
    Flush();
  }
  CloseHandles();
}

void Connection::Enqueue(queue::OutRecord record, std::function<void(Status)> done) {
  ack_done_ = std::move(done);
  const uint64_t gen = ++ack_gen_;
  uv_timer_start(&ack_timer_, OnAckTimer,
                 static_cast<uint64_t>(loop_.deps().config->queue_ack_timeout.count()), 0);
  std::shared_ptr<PostQueue> posts = loop_.posts();
  std::shared_ptr<Token> token = token_;
  // The callback runs on a queue thread: hop back onto our loop.
  loop_.deps().producer->Produce(std::move(record), [posts, token, gen](Status st) {
    posts->Post([token, gen, st = std::move(st)]() mutable {
      if (token->conn != nullptr) token->conn->OnAck(gen, std::move(st));
    });
  });
}

void Connection::OnAck(uint64_t gen, Status status) {
  if (gen != ack_gen_ || !ack_done_) {
    // Answered 451 already (ack timeout); the client will send it again.
    spdlog::warn("ingress {}: queue ack arrived after the timeout", listener_.config.name);
    return;
  }
  uv_timer_stop(&ack_timer_);
  auto done = std::move(ack_done_);
  ack_done_ = nullptr;
  done(std::move(status));
  AfterEvent();
}

void Connection::OnAckTimer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (!c->ack_done_) return;
  auto done = std::move(c->ack_done_);
  c->ack_done_ = nullptr;
  done(MakeError(ErrorCode::kTimeout, "no durable ack within the queue_ack timeout"));
  c->AfterEvent();
}

void Connection::RunBlocking(BlockingWork kind, std::function<void()> work,
                             std::function<void(bool)> done) {
  const LoopDeps& d = loop_.deps();
  BlockingPool* pool = kind == BlockingWork::kAuth ? d.auth_pool : d.recipient_pool;
  std::shared_ptr<PostQueue> posts = loop_.posts();
  std::shared_ptr<Token> token = token_;
  auto finish = std::make_shared<std::function<void(bool)>>(std::move(done));
  // Back on the loop: only if the connection still exists.
  auto post_done = [posts, token, finish](bool ran) {
    posts->Post([token, finish, ran] {
      Connection* c = token->conn;
      if (c == nullptr || c->handles_closing_) return;
      (*finish)(ran);
      c->AfterEvent();
    });
  };
  bool queued = pool != nullptr && pool->Submit([work = std::move(work), post_done] {
    work();
    post_done(true);
  });
  if (!queued) post_done(false);
}

int64_t Connection::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Connection::CloseHandles() {
  if (handles_closing_) return;
  handles_closing_ = true;
  token_->conn = nullptr;
  ack_done_ = nullptr;
  if (session_) session_->OnDisconnect();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&ack_timer_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&session_timer_), OnHandleClosed);
}

void Connection::OnHandleClosed(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (--c->handles_open_ == 0) c->loop_.Remove(c);
}

}  // namespace sg::ingress
