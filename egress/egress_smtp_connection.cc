#include "egress/egress_smtp_connection.h"

#include <cstring>

namespace sg::egress {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string data;
};

}  // namespace

SmtpConnection* SmtpConnection::Create(uv_loop_t* loop) { return new SmtpConnection(loop); }

SmtpConnection::SmtpConnection(uv_loop_t* loop) : loop_(loop) {
  uv_tcp_init(loop_, &tcp_);
  uv_timer_init(loop_, &timer_);
  tcp_.data = this;
  timer_.data = this;
  connect_req_.data = this;
  open_handles_ = 2;
}

void SmtpConnection::Close() {
  if (closing_) return;
  closing_ = true;
  broken_ = true;
  pending_ = nullptr;
  tls_done_ = nullptr;
  auto on_close = [](uv_handle_t* h) {
    auto* self = static_cast<SmtpConnection*>(h->data);
    if (--self->open_handles_ == 0) delete self;
  };
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

void SmtpConnection::Expect(size_t replies, std::chrono::milliseconds timeout,
                            RepliesCallback done) {
  want_replies_ = replies;
  got_.clear();
  pending_ = std::move(done);
  op_timeout_ = timeout;
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<SmtpConnection*>(t->data);
        self->Fail(MakeError(ErrorCode::kTimeout, "timed out waiting for the SMTP server"));
      },
      static_cast<uint64_t>(timeout.count()), 0);
}

void SmtpConnection::Connect(const sockaddr* addr, std::chrono::milliseconds timeout,
                             RepliesCallback done) {
  Expect(1, timeout, std::move(done));
  int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, [](uv_connect_t* req, int status) {
    auto* self = static_cast<SmtpConnection*>(req->data);
    if (self->closing_) return;
    if (status != 0) {
      self->Fail(MakeError(ErrorCode::kUnavailable,
                           std::string("connect failed: ") + uv_strerror(status)));
      return;
    }
    uv_tcp_nodelay(&self->tcp_, 1);
    self->reading_ = true;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&self->tcp_),
        [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
          buf->base = new char[suggested];
          buf->len = suggested;
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          auto* conn = static_cast<SmtpConnection*>(s->data);
          conn->OnRead(nread, buf);
          delete[] buf->base;
        });
  });
  if (rc != 0) {
    // Report asynchronously-equivalent: callers expect the callback, never a re-entrant call
    // during Connect, but a synchronous failure here is rare (bad address family).
    Fail(MakeError(ErrorCode::kUnavailable, std::string("connect failed: ") + uv_strerror(rc)));
  }
}

void SmtpConnection::Exchange(std::vector<std::string> commands, bool pipelined,
                              std::chrono::milliseconds timeout, RepliesCallback done) {
  if (broken_) {
    done(MakeError(ErrorCode::kUnavailable, "connection is broken"));
    return;
  }
  Expect(commands.size(), timeout, std::move(done));
  if (pipelined) {
    std::string all;
    for (auto& c : commands) all += c + "\r\n";
    WritePlain(std::move(all));
  } else {
    unpipelined_ = std::move(commands);
    unpipelined_next_ = 0;
    SendNextUnpipelined();
  }
}

void SmtpConnection::SendNextUnpipelined() {
  if (unpipelined_next_ < unpipelined_.size()) {
    WritePlain(unpipelined_[unpipelined_next_++] + "\r\n");
  }
}

void SmtpConnection::SendAndRead(std::string data, std::chrono::milliseconds timeout,
                                 RepliesCallback done) {
  if (broken_) {
    done(MakeError(ErrorCode::kUnavailable, "connection is broken"));
    return;
  }
  Expect(1, timeout, std::move(done));
  WritePlain(std::move(data));
}

void SmtpConnection::SendOnly(std::string data) {
  if (!broken_) WritePlain(std::move(data));
}

void SmtpConnection::WritePlain(std::string data) {
  if (tls_ != nullptr) {
    auto st = tls_->WritePlaintext(data);
    if (!st.ok()) {
      Fail(std::move(st).error());
      return;
    }
    WriteRaw(tls_->TakeCiphertext());
  } else {
    WriteRaw(std::move(data));
  }
}

void SmtpConnection::WriteRaw(std::string data) {
  if (data.empty() || closing_) return;
  auto* w = new WriteReq;
  w->data = std::move(data);
  w->req.data = this;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                    [](uv_write_t* req, int status) {
                      auto* wr = reinterpret_cast<WriteReq*>(req);
                      auto* self = static_cast<SmtpConnection*>(req->data);
                      delete wr;
                      if (status != 0 && status != UV_ECANCELED && !self->closing_) {
                        self->Fail(MakeError(ErrorCode::kUnavailable,
                                             std::string("write failed: ") + uv_strerror(status)));
                      }
                    });
  if (rc != 0) {
    delete w;
    Fail(MakeError(ErrorCode::kUnavailable, std::string("write failed: ") + uv_strerror(rc)));
  }
}

void SmtpConnection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread < 0) {
    Fail(MakeError(ErrorCode::kUnavailable,
                   nread == UV_EOF ? "connection closed by the SMTP server"
                                   : std::string("read failed: ") + uv_strerror(static_cast<int>(nread))));
    return;
  }
  if (nread == 0) return;
  std::string_view data(buf->base, static_cast<size_t>(nread));
  if (tls_ == nullptr) {
    OnPlaintext(data);
    return;
  }
  tls_->FeedCiphertext(data);
  if (handshaking_) {
    DriveHandshake();
    if (handshaking_ || closing_ || broken_) return;
  }
  std::string plain;
  auto st = tls_->ReadPlaintext(plain);
  WriteRaw(tls_->TakeCiphertext());  // e.g. TLS 1.3 key updates
  if (!plain.empty()) OnPlaintext(plain);
  if (!st.ok() && !closing_) Fail(std::move(st).error());
}

void SmtpConnection::OnPlaintext(std::string_view data) {
  std::vector<SmtpReply> replies;
  auto st = parser_.Feed(data, replies);
  if (!st.ok()) {
    Fail(std::move(st).error());
    return;
  }
  for (auto& r : replies) {
    if (handshaking_) {
      // Replies that came in clear text together with the 220 to STARTTLS.
      Fail(MakeError(ErrorCode::kCorruption,
                     "SMTP server sent data after its STARTTLS reply (injection attempt)"));
      return;
    }
    if (pending_ == nullptr) {
      // A reply nobody asked for (e.g. a 421 before closing): the session is over.
      broken_ = true;
      continue;
    }
    got_.push_back(std::move(r));
    if (got_.size() < want_replies_) {
      if (!unpipelined_.empty()) SendNextUnpipelined();
      continue;
    }
    unpipelined_.clear();
    Finish(std::move(got_));
    got_.clear();
    if (closing_) return;
  }
}

void SmtpConnection::StartTls(std::unique_ptr<TlsSession> tls, std::chrono::milliseconds timeout,
                              StatusCallback done) {
  if (parser_.HasPartial()) {
    broken_ = true;
    done(MakeError(ErrorCode::kCorruption,
                   "SMTP server sent data after its STARTTLS reply (injection attempt)"));
    return;
  }
  tls_ = std::move(tls);
  handshaking_ = true;
  tls_done_ = std::move(done);
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<SmtpConnection*>(t->data);
        self->Fail(MakeError(ErrorCode::kTimeout, "TLS handshake timed out"));
      },
      static_cast<uint64_t>(timeout.count()), 0);
  DriveHandshake();
}

void SmtpConnection::DriveHandshake() {
  auto progress = tls_->Handshake();
  WriteRaw(tls_->TakeCiphertext());
  if (!progress.ok()) {
    Fail(std::move(progress).error());
    return;
  }
  if (*progress == TlsSession::Progress::kDone) {
    handshaking_ = false;
    uv_timer_stop(&timer_);
    auto done = std::move(tls_done_);
    tls_done_ = nullptr;
    if (done) done(OkStatus());
  }
}

void SmtpConnection::Fail(Error error) {
  if (closing_) return;
  broken_ = true;
  uv_timer_stop(&timer_);
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
  if (tls_done_) {
    auto done = std::move(tls_done_);
    tls_done_ = nullptr;
    done(error);
    return;
  }
  if (pending_) {
    auto done = std::move(pending_);
    pending_ = nullptr;
    done(std::move(error));
  }
}

void SmtpConnection::Finish(Result<std::vector<SmtpReply>> result) {
  uv_timer_stop(&timer_);
  auto done = std::move(pending_);
  pending_ = nullptr;
  if (done) done(std::move(result));
}

}  // namespace sg::egress
