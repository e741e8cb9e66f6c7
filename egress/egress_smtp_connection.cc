#include "egress/egress_smtp_connection.h"

#include <cstring>

namespace sg::egress {
namespace {

}  // namespace

struct SmtpConnection::WriteReq {
  uv_write_t req;
  std::string data;  // empty when the bytes live in data_ (WriteView)
  std::function<void()> written;
};

SmtpConnection* SmtpConnection::Create(uv_loop_t* loop, Timers& timers) {
  return new SmtpConnection(loop, timers);
}

SmtpConnection::SmtpConnection(uv_loop_t* loop, Timers& timers)
    : loop_(loop), timer_(timers.Create()), budget_timer_(timers.Create()) {
  uv_tcp_init(loop_, &tcp_);
  tcp_.data = this;
  connect_req_.data = this;
}

void SmtpConnection::Close() {
  if (closing_) return;
  closing_ = true;
  broken_ = true;
  pending_ = nullptr;
  tls_done_ = nullptr;
  timer_.reset();  // the timers close their own handles
  budget_timer_.reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
           [](uv_handle_t* h) { delete static_cast<SmtpConnection*>(h->data); });
}

void SmtpConnection::Expect(std::vector<SmtpCommand> deadlines, bool arm_first,
                            RepliesCallback done) {
  expected_ = std::move(deadlines);
  want_replies_ = expected_.size();
  got_.clear();
  pending_ = std::move(done);
  if (arm_first) ArmReplyTimer();
}

void SmtpConnection::ArmReplyTimer() {
  if (got_.size() >= expected_.size()) return;
  const SmtpCommand& next = expected_[got_.size()];
  std::string what = "timed out after " + FormatDuration(next.timeout) + " waiting for " + next.what;
  timer_->Start(next.timeout, [this, what] { Fail(MakeError(ErrorCode::kTimeout, what)); });
}

void SmtpConnection::Connect(const sockaddr* addr, std::chrono::milliseconds connect_timeout,
                             std::chrono::milliseconds greeting_timeout, RepliesCallback done) {
  Expect({{"", greeting_timeout, "the greeting (egress.smtp.greeting_timeout)"}}, false,
         std::move(done));
  timer_->Start(connect_timeout, [this, connect_timeout] {
    Fail(MakeError(ErrorCode::kTimeout, "connect timed out after " + FormatDuration(connect_timeout) +
                                            " (egress.smtp.connect_timeout)"));
  });
  int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, [](uv_connect_t* req, int status) {
    auto* self = static_cast<SmtpConnection*>(req->data);
    if (self->closing_) return;
    if (status != 0) {
      self->Fail(MakeError(ErrorCode::kUnavailable,
                           std::string("connect failed: ") + uv_strerror(status)));
      return;
    }
    self->ArmReplyTimer();  // now the greeting's deadline
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

void SmtpConnection::Exchange(std::vector<SmtpCommand> commands, bool pipelined,
                              RepliesCallback done) {
  if (broken_) {
    done(MakeError(ErrorCode::kUnavailable, "connection is broken"));
    return;
  }
  std::vector<std::string> lines;
  for (const auto& c : commands) lines.push_back(c.line + "\r\n");
  Expect(std::move(commands), true, std::move(done));
  if (pipelined) {
    std::string all;
    for (auto& l : lines) all += l;
    WritePlain(std::move(all));
  } else {
    unpipelined_ = std::move(lines);
    unpipelined_next_ = 0;
    SendNextUnpipelined();
  }
}

void SmtpConnection::SendNextUnpipelined() {
  if (unpipelined_next_ < unpipelined_.size()) {
    WritePlain(unpipelined_[unpipelined_next_++]);
  }
}

void SmtpConnection::SendData(std::string data, const DataDeadlines& deadlines,
                              RepliesCallback done) {
  if (broken_) {
    done(MakeError(ErrorCode::kUnavailable, "connection is broken"));
    return;
  }
  // The reply's deadline starts once the last block is written.
  Expect({{"", deadlines.done, "the reply to the end of the data (egress.smtp.data_done_timeout)"}},
         false, std::move(done));
  data_ = std::move(data);
  data_pos_ = 0;
  data_deadlines_ = deadlines;
  const auto budget = deadlines.budget;
  const size_t size = data_.size();
  budget_timer_->Start(budget, [this, budget, size] {
    Fail(MakeError(ErrorCode::kTimeout,
                   "writing " + std::to_string(size) + " bytes of message data took longer than " +
                       FormatDuration(budget) +
                       " (egress.smtp.data_block_timeout + size / egress.smtp.data_min_rate)"));
  });
  WriteNextBlock();
}

void SmtpConnection::WriteNextBlock() {
  if (closing_ || broken_ || pending_ == nullptr) return;  // answered or failed meanwhile
  if (data_pos_ >= data_.size()) {
    budget_timer_->Stop();
    data_.clear();
    data_.shrink_to_fit();
    ArmReplyTimer();
    return;
  }
  const size_t n = std::min(kDataBlock, data_.size() - data_pos_);
  std::string_view block(data_.data() + data_pos_, n);
  data_pos_ += n;
  const auto block_timeout = data_deadlines_.block;
  timer_->Start(block_timeout, [this, block_timeout] {
    Fail(MakeError(ErrorCode::kTimeout, "no block of message data was taken within " +
                                            FormatDuration(block_timeout) +
                                            " (egress.smtp.data_block_timeout)"));
  });
  auto next = [this] { WriteNextBlock(); };
  if (tls_ != nullptr) {
    auto st = tls_->WritePlaintext(block);
    if (!st.ok()) {
      Fail(std::move(st).error());
      return;
    }
    WriteRaw(tls_->TakeCiphertext(), std::move(next));
  } else {
    WriteView(block, std::move(next));  // data_ stays put until the write completes
  }
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

void SmtpConnection::WriteRaw(std::string data, std::function<void()> written) {
  if (closing_) return;
  if (data.empty()) {
    if (written) written();
    return;
  }
  auto* w = new WriteReq;
  w->data = std::move(data);
  w->written = std::move(written);
  w->req.data = this;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  Submit(w, buf);
}

void SmtpConnection::WriteView(std::string_view data, std::function<void()> written) {
  if (closing_) return;
  auto* w = new WriteReq;
  w->written = std::move(written);
  w->req.data = this;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  Submit(w, buf);
}

void SmtpConnection::Submit(WriteReq* w, uv_buf_t buf) {
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                    [](uv_write_t* req, int status) {
                      auto* wr = reinterpret_cast<WriteReq*>(req);
                      auto* self = static_cast<SmtpConnection*>(req->data);
                      auto written = std::move(wr->written);
                      delete wr;
                      if (self->closing_) return;
                      if (status != 0) {
                        if (status != UV_ECANCELED) {
                          self->Fail(MakeError(ErrorCode::kUnavailable,
                                               std::string("write failed: ") + uv_strerror(status)));
                        }
                        return;
                      }
                      if (written) written();
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
      ArmReplyTimer();  // the next reply's own deadline starts now
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
  timer_->Start(timeout, [this, timeout] {
    Fail(MakeError(ErrorCode::kTimeout, "TLS handshake timed out after " + FormatDuration(timeout) +
                                            " (egress.smtp.command_timeout)"));
  });
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
    timer_->Stop();
    auto done = std::move(tls_done_);
    tls_done_ = nullptr;
    if (done) done(OkStatus());
  }
}

void SmtpConnection::Fail(Error error) {
  if (closing_) return;
  broken_ = true;
  timer_->Stop();
  budget_timer_->Stop();
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
  timer_->Stop();
  budget_timer_->Stop();
  auto done = std::move(pending_);
  pending_ = nullptr;
  if (done) done(std::move(result));
}

}  // namespace sg::egress
