#include "bench/e2e/loadgen/loadgen_client.h"

#include <utility>

namespace sg::bench::loadgen {

namespace {
constexpr uint64_t kBackoffMs = 100;
int64_t NowNs() { return static_cast<int64_t>(uv_hrtime()); }
}  // namespace

ClientSession::ClientSession(uv_loop_t* loop, Config config, const MessageFactory& factory,
                             ClientHooks& hooks)
    : loop_(loop), config_(std::move(config)), factory_(factory), hooks_(hooks) {
  uv_timer_init(loop_, &backoff_timer_);
  backoff_timer_.data = this;
  handles_open_ = 1;
  connect_req_.data = this;
  cmd_req_.data = this;
  data_req_.data = this;
}

void ClientSession::Connect() { StartTcp(); }

void ClientSession::StartTcp() {
  uv_tcp_init(loop_, &tcp_);
  tcp_.data = this;
  tcp_open_ = true;
  ++handles_open_;
  uv_tcp_nodelay(&tcp_, 1);
  parser_.Reset();
  expect_head_ = expect_count_ = 0;
  need_rset_ = false;
  state_ = State::kConnecting;
  waiting_since_ns_ = NowNs();
  int rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&config_.target),
                          &ClientSession::OnConnect);
  if (rc < 0) Drop(std::string("connect: ") + uv_strerror(rc));
}

void ClientSession::OnConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<ClientSession*>(req->data);
  if (status == UV_ECANCELED || self->state_ != State::kConnecting || !self->tcp_open_) return;
  if (status < 0) {
    self->Drop(std::string("connect: ") + uv_strerror(status));
    return;
  }
  self->state_ = State::kGreeting;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &ClientSession::OnAlloc,
                         &ClientSession::OnRead);
  if (rc < 0) self->Drop(std::string("read: ") + uv_strerror(rc));
}

void ClientSession::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<ClientSession*>(h->data);
  *buf = uv_buf_init(self->read_buf_, sizeof self->read_buf_);
}

void ClientSession::OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
  auto* self = static_cast<ClientSession*>(s->data);
  if (n == 0) return;
  if (n < 0) {
    if (self->state_ == State::kQuitting) {
      self->Close();
    } else {
      self->Drop(n == UV_EOF ? std::string("server closed the connection")
                             : std::string("read: ") + uv_strerror(static_cast<int>(n)));
    }
    return;
  }
  bool ok = self->parser_.Feed(self->read_buf_, static_cast<size_t>(n), [self](int code) {
    if (self->tcp_open_ && !self->closing_for_good_) self->HandleReply(code);
  });
  if (!ok && self->tcp_open_) self->Drop("malformed SMTP reply");
}

void ClientSession::Write(uv_write_t* req, const uv_buf_t* bufs, unsigned n) {
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  uv_buf_t rest[4];
  if (pending_writes_ == 0 && n <= 4) {
    // Usually the socket takes it all: no write queue, no epoll interest change.
    int sent = uv_try_write(stream, bufs, n);
    if (sent < 0 && sent != UV_EAGAIN) {
      Drop(std::string("write: ") + uv_strerror(sent));
      return;
    }
    size_t skip = sent > 0 ? static_cast<size_t>(sent) : 0;
    unsigned k = 0;
    for (unsigned i = 0; i < n; ++i) {
      if (skip >= bufs[i].len) {
        skip -= bufs[i].len;
        continue;
      }
      rest[k++] = uv_buf_init(bufs[i].base + skip, static_cast<unsigned>(bufs[i].len - skip));
      skip = 0;
    }
    if (k == 0) return;
    bufs = rest;
    n = k;
  }
  ++pending_writes_;
  int rc = uv_write(req, stream, bufs, n, &ClientSession::OnWrite);
  if (rc < 0) {
    --pending_writes_;
    Drop(std::string("write: ") + uv_strerror(rc));
  }
}

void ClientSession::OnWrite(uv_write_t* req, int status) {
  auto* self = static_cast<ClientSession*>(req->data);
  --self->pending_writes_;
  if (status < 0) {
    if (status != UV_ECANCELED && self->tcp_open_) {
      self->Drop(std::string("write: ") + uv_strerror(status));
    }
    return;
  }
  self->MaybeIdle();
}

void ClientSession::MaybeIdle() {
  if (idle() && !closing_for_good_) hooks_.OnIdle(*this);
}

void ClientSession::HandleReply(int code) {
  switch (state_) {
    case State::kGreeting:
      if (code != 220) {
        Drop("greeting " + std::to_string(code));
        return;
      }
      cmd_buf_ = "EHLO loadgen.bench\r\n";
      {
        uv_buf_t b = uv_buf_init(cmd_buf_.data(), static_cast<unsigned>(cmd_buf_.size()));
        state_ = State::kEhlo;
        waiting_since_ns_ = NowNs();
        Write(&cmd_req_, &b, 1);
      }
      return;
    case State::kEhlo:
      if (code != 250) {
        Drop("EHLO answered " + std::to_string(code));
        return;
      }
      state_ = State::kIdle;
      waiting_since_ns_ = -1;
      MaybeIdle();
      return;
    case State::kQuitting:
      Close();
      return;
    case State::kBusy:
      break;
    default:
      return;  // stray reply while idle (e.g. 421 before closing): EOF follows
  }
  if (expect_count_ == 0) {
    Drop("unexpected reply " + std::to_string(code));
    return;
  }
  if (code == 421) {
    // The server is closing the channel: the message is a temporary rejection
    // and the connection is re-established (counted as a connection error).
    bool had_message = in_message_;
    in_message_ = false;
    Drop("server replied 421 (closing the connection)");
    if (had_message) hooks_.OnRejected(seq_, code);
    return;
  }
  Expect e = expect_[expect_head_];
  expect_head_ = (expect_head_ + 1) % 8;
  --expect_count_;
  waiting_since_ns_ = expect_count_ > 0 ? NowNs() : -1;
  switch (e) {
    case Expect::kRset:
      break;
    case Expect::kMail:
    case Expect::kRcpt:
      if (code >= 400 && fail_code_ == 0) fail_code_ = code;
      break;
    case Expect::kData: {
      if (code == 354) {
        uv_buf_t bufs[4];
        int n = factory_.Render(seq_, header_buf_, bufs);
        uint64_t bytes = 0;
        for (int i = 0; i < n; ++i) bytes += bufs[i].len;
        expect_[(expect_head_ + expect_count_) % 8] = Expect::kDot;
        ++expect_count_;
        waiting_since_ns_ = NowNs();
        hooks_.OnSent(bytes);
        Write(&data_req_, bufs, static_cast<unsigned>(n));
        return;
      }
      int reported = fail_code_ != 0 ? fail_code_ : code;
      if (reported < 400) {
        Drop("DATA answered " + std::to_string(code));
        return;
      }
      need_rset_ = true;
      in_message_ = false;
      hooks_.OnRejected(seq_, reported);
      FinishMessage();
      return;
    }
    case Expect::kDot:
      in_message_ = false;
      if (code >= 200 && code < 300) {
        hooks_.OnAccepted(seq_);
      } else {
        hooks_.OnRejected(seq_, code);
      }
      FinishMessage();
      return;
  }
}

void ClientSession::FinishMessage() {
  state_ = State::kIdle;
  waiting_since_ns_ = -1;
  MaybeIdle();
}

void ClientSession::StartTransaction(uint64_t seq) {
  state_ = State::kBusy;
  in_message_ = true;
  seq_ = seq;
  fail_code_ = 0;
  cmd_buf_.clear();
  expect_head_ = expect_count_ = 0;
  auto push = [this](Expect e) { expect_[(expect_head_ + expect_count_++) % 8] = e; };
  if (need_rset_) {
    cmd_buf_ += "RSET\r\n";
    push(Expect::kRset);
    need_rset_ = false;
  }
  cmd_buf_.append("MAIL FROM:<").append(config_.from).append(">\r\n");
  push(Expect::kMail);
  cmd_buf_.append("RCPT TO:<").append(factory_.Recipient(seq)).append(">\r\n");
  push(Expect::kRcpt);
  cmd_buf_ += "DATA\r\n";
  push(Expect::kData);
  waiting_since_ns_ = NowNs();
  uv_buf_t b = uv_buf_init(cmd_buf_.data(), static_cast<unsigned>(cmd_buf_.size()));
  Write(&cmd_req_, &b, 1);
}

void ClientSession::Quit() {
  state_ = State::kQuitting;
  waiting_since_ns_ = NowNs();
  cmd_buf_ = "QUIT\r\n";
  uv_buf_t b = uv_buf_init(cmd_buf_.data(), static_cast<unsigned>(cmd_buf_.size()));
  Write(&cmd_req_, &b, 1);
}

void ClientSession::CheckTimeout(int64_t now_ns) {
  if (waiting_since_ns_ < 0 || !tcp_open_ || closing_for_good_) return;
  if (static_cast<double>(now_ns - waiting_since_ns_) / 1e9 <= config_.reply_timeout_s) return;
  if (state_ == State::kQuitting) {
    Close();
  } else {
    Drop(state_ == State::kConnecting ? "connect timed out" : "reply timed out");
  }
}

void ClientSession::Drop(const std::string& why) {
  if (closing_for_good_ || !tcp_open_) return;
  hooks_.OnConnectionError(*this, why);
  if (in_message_) {
    in_message_ = false;
    hooks_.OnFailed(seq_);
  }
  state_ = State::kBackoff;
  waiting_since_ns_ = -1;
  tcp_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &ClientSession::OnTcpClosed);
}

void ClientSession::OnTcpClosed(uv_handle_t* h) {
  auto* self = static_cast<ClientSession*>(h->data);
  --self->handles_open_;
  if (self->closing_for_good_) {
    if (self->handles_open_ == 0) {
      self->state_ = State::kDone;
      self->hooks_.OnClosed(*self);
    }
    return;
  }
  uv_timer_start(&self->backoff_timer_, &ClientSession::OnBackoff, kBackoffMs, 0);
}

void ClientSession::OnBackoff(uv_timer_t* t) {
  auto* self = static_cast<ClientSession*>(t->data);
  if (!self->closing_for_good_) self->StartTcp();
}

void ClientSession::OnTimerClosed(uv_handle_t* h) { OnTcpClosed(h); }

void ClientSession::Close() {
  if (closing_for_good_) return;
  closing_for_good_ = true;
  if (in_message_) {
    in_message_ = false;
    hooks_.OnFailed(seq_);
  }
  state_ = State::kClosing;
  uv_timer_stop(&backoff_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&backoff_timer_), &ClientSession::OnTimerClosed);
  if (tcp_open_) {
    tcp_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &ClientSession::OnTcpClosed);
  }
}

}  // namespace sg::bench::loadgen
