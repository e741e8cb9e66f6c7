#include "ingress/smtp_session.h"

#include "common/log_event.h"
#include "common/mail/base64.h"

namespace sg::ingress {
namespace {

// Input buffered while the session waits (enqueue, AUTH, TLS). A client that
// pipelines more than this before our answer is not a mail client.
constexpr size_t kMaxBufferedWhileWaiting = 1 << 20;

// The log line about one message (keys as in common/message_log.h); |tx| may
// be null (no transaction), |id| empty (no queue id yet).
log::Event MessageEvent(const SessionConfig& cfg, const SessionState& s, const Transaction* tx,
                        std::string_view id) {
  log::Event e("ingress");
  e.Field("listener", cfg.listener);
  if (!id.empty()) e.Field("message_id", id);
  e.Field("direction", cfg.role == Role::kMx ? "inbound" : "outbound");
  if (tx != nullptr) e.Field("from", tx->from.address).Field("rcpts", tx->recipients.size());
  e.Field("peer", s.client_ip);
  return e;
}

}  // namespace

Session::Session(SessionDeps deps, std::string client_ip, uint16_t client_port, bool trusted,
                 SessionHost& host)
    : deps_(deps), cfg_(*deps.config), host_(host), content_lease_(deps.budget) {
  state_.config = deps_.config;
  state_.client_key = ClientKey(client_ip, cfg_.ipv6_client_prefix);
  state_.client_ip = std::move(client_ip);
  state_.client_port = client_port;
  state_.trusted = trusted;
}

Session::~Session() {
  *alive_ = false;
  OnDisconnect();
}

void Session::OnDisconnect() {
  if (disconnected_) return;
  disconnected_ = true;
  closed_ = true;
  if (deps_.steps != nullptr) {
    for (const auto& step : *deps_.steps) step->OnClose(state_);
  }
}

std::optional<StepVerdict> Session::RunSteps(const std::function<StepVerdict(SessionStep&)>& f) {
  if (deps_.steps == nullptr) return std::nullopt;
  for (const auto& step : *deps_.steps) {
    StepVerdict v = f(*step);
    if (v.reject) return v;
  }
  return std::nullopt;
}

void Session::Start() {
  auto v = RunSteps([this](SessionStep& s) { return s.OnConnect(state_); });
  if (v) {
    if (deps_.metrics) deps_.metrics->ConnectionRejected(cfg_.listener, v->reason);
    Reply r = *v->reject;
    r.close = true;
    Respond(r);
    return;
  }
  SendRaw("220 " + cfg_.hostname + " ESMTP smimegate");
}

void Session::SendRaw(const std::string& line) { host_.Send(line + "\r\n"); }

void Session::Respond(const Reply& r) {
  if (closed_) return;
  host_.Send(r.Format());
  if (r.close) CloseNow();
}

void Session::CloseNow() {
  if (closed_) return;
  closed_ = true;
  host_.Close();
}

void Session::BadCommand(const Reply& r, const char* kind) {
  if (deps_.metrics) deps_.metrics->ProtocolError(cfg_.listener, kind);
  Respond(r);
  if (++bad_commands_ >= cfg_.max_bad_commands) {
    Respond(MakeReply(421, "4.7.0", cfg_.hostname + " Too many errors, closing connection",
                      true));
  }
}

void Session::Reject(const StepVerdict& v) {
  if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, v.reason);
  Respond(*v.reject);
}

std::optional<std::chrono::milliseconds> Session::IdleTimeout() const {
  if (closed_ || mode_ == Mode::kWaiting) return std::nullopt;
  if (mode_ == Mode::kData || mode_ == Mode::kBdat) return cfg_.data_timeout;
  return cfg_.command_timeout;
}

void Session::OnIdleTimeout() {
  if (closed_) return;
  if (deps_.metrics) deps_.metrics->ProtocolError(cfg_.listener, "timeout");
  Respond(MakeReply(421, "4.4.2", cfg_.hostname + " Error: timeout exceeded", true));
}

void Session::OnSessionDeadline() {
  if (closed_) return;
  deadline_passed_ = true;
  if (mode_ != Mode::kWaiting) CloseForDeadline();
}

void Session::CloseForDeadline() {
  if (deps_.metrics) deps_.metrics->ProtocolError(cfg_.listener, "session_deadline");
  Respond(MakeReply(421, "4.4.2", cfg_.hostname + " Error: session lasted too long, closing "
                                                  "connection", true));
}

void Session::Shutdown() {
  shutting_down_ = true;
  if (!closed_ && mode_ == Mode::kCommand && !tx_) {
    Respond(MakeReply(421, "4.3.2", cfg_.hostname + " Service shutting down", true));
  }
}

void Session::Feed(std::string_view bytes) {
  if (closed_) return;
  in_.append(bytes);
  if (mode_ == Mode::kWaiting && in_.size() > kMaxBufferedWhileWaiting) {
    if (deps_.metrics) deps_.metrics->ProtocolError(cfg_.listener, "pipeline_overflow");
    Respond(MakeReply(421, "4.7.0", "Too much pipelined input, closing connection", true));
    return;
  }
  Process();
}

void Session::OnTlsUp(const TlsState& tls) {
  // RFC 3207 4.2: discard all knowledge obtained from the client before TLS.
  state_.tls = tls;
  state_.helo.clear();
  state_.esmtp = false;
  ResetTransaction();
  in_.clear();
  mode_ = Mode::kCommand;
  Process();
}

void Session::Process() {
  if (processing_) return;  // re-entered from a synchronous callback
  processing_ = true;
  size_t pos = 0;
  while (!closed_ && mode_ != Mode::kWaiting) {
    if (deadline_passed_) {
      CloseForDeadline();
      break;
    }
    if (shutting_down_ && mode_ == Mode::kCommand && !tx_) {
      Respond(MakeReply(421, "4.3.2", cfg_.hostname + " Service shutting down", true));
      break;
    }
    if (pos >= in_.size()) break;
    std::string_view avail(in_.data() + pos, in_.size() - pos);
    if (mode_ == Mode::kData) {
      pos += data_->Feed(avail);
      if (!data_->discarding() && !content_lease_.Cover(data_->size())) {
        no_storage_ = true;
        data_->Discard();
      }
      if (data_->done()) {
        DataReader::Outcome outcome = data_->outcome();
        std::string content = std::move(data_->message());
        data_.reset();
        mode_ = Mode::kCommand;
        if (no_storage_) {
          RejectNoStorage();
        } else {
          FinishMessage(outcome, std::move(content));
        }
      }
      continue;
    }
    if (mode_ == Mode::kBdat) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(bdat_remaining_, avail.size()));
      if (!bdat_discard_) {
        bdat_content_.append(avail.substr(0, take));
        bdat_lines_->Feed(avail.substr(0, take));
      }
      pos += take;
      bdat_remaining_ -= take;
      if (bdat_remaining_ == 0) BdatChunkDone();
      continue;
    }
    size_t nl = avail.find('\n');
    if (mode_ == Mode::kDiscardLine) {
      if (nl == std::string_view::npos) {
        pos = in_.size();
      } else {
        pos += nl + 1;
        mode_ = Mode::kCommand;
      }
      continue;
    }
    if (nl == std::string_view::npos) {
      if (avail.size() > cfg_.max_command_length) {
        BadCommand(MakeReply(500, "5.5.2", "Error: line too long"), "line_too_long");
        mode_ = Mode::kDiscardLine;
        pos = in_.size();
      }
      break;  // wait for the rest of the line
    }
    std::string_view line = avail.substr(0, nl);
    pos += nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > cfg_.max_command_length) {
      BadCommand(MakeReply(500, "5.5.2", "Error: line too long"), "line_too_long");
      continue;
    }
    if (mode_ == Mode::kCommand) {
      ProcessCommandLine(line);
    } else {
      OnAuthLine(line);
    }
    if (drop_input_) {
      // STARTTLS: anything pipelined after it was sent in plaintext and must
      // not be executed under TLS (CVE-2011-0411 class of bugs).
      drop_input_ = false;
      pos = in_.size();
    }
  }
  if (closed_) {
    in_.clear();
  } else {
    in_.erase(0, std::min(pos, in_.size()));
  }
  processing_ = false;
}

bool Session::ProcessCommandLine(std::string_view line) {
  ParseResult parsed = ParseCommand(line);
  if (auto* err = std::get_if<Reply>(&parsed)) {
    BadCommand(*err, err->code == 500 ? "unknown_command" : "syntax");
    return false;
  }
  const Command& c = std::get<Command>(parsed);
  switch (c.verb) {
    case Verb::kHelo:
    case Verb::kEhlo:
      OnHelo(c);
      break;
    case Verb::kMail:
      OnMail(c);
      break;
    case Verb::kRcpt:
      OnRcpt(c);
      break;
    case Verb::kData:
      OnData();
      break;
    case Verb::kBdat:
      OnBdat(c);
      break;
    case Verb::kRset:
      ResetTransaction();
      Respond(250, "2.0.0", "Ok");
      break;
    case Verb::kNoop:
      Respond(250, "2.0.0", "Ok");
      break;
    case Verb::kQuit:
      Respond(MakeReply(221, "2.0.0", cfg_.hostname + " closing connection", true));
      break;
    case Verb::kVrfy:
      Respond(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
      break;
    case Verb::kExpn:
      BadCommand(MakeReply(502, "5.5.1", "EXPN not supported"), "expn");
      break;
    case Verb::kHelp:
      Respond(214, "2.0.0",
              "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS "
              "AUTH; see RFC 5321");
      break;
    case Verb::kStartTls:
      OnStartTls();
      break;
    case Verb::kAuth:
      OnAuth(c);
      break;
  }
  return true;
}

void Session::OnHelo(const Command& c) {
  ResetTransaction();
  state_.helo = c.argument;
  state_.esmtp = c.verb == Verb::kEhlo;
  if (!state_.esmtp) {
    SendRaw("250 " + cfg_.hostname);
    return;
  }
  Reply r;
  r.code = 250;
  r.lines = {cfg_.hostname, "PIPELINING", "SIZE " + std::to_string(cfg_.max_message_size),
             "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN"};
  if (cfg_.tls_available && !state_.tls.active) r.lines.push_back("STARTTLS");
  if (cfg_.auth_enabled && state_.tls.active) r.lines.push_back("AUTH PLAIN LOGIN");
  r.lines.push_back("HELP");
  Respond(r);
}

void Session::OnMail(const Command& c) {
  if (state_.helo.empty()) {
    BadCommand(MakeReply(503, "5.5.1", "Error: send HELO/EHLO first"), "sequence");
    return;
  }
  if (tx_) {
    BadCommand(MakeReply(503, "5.5.1", "Error: nested MAIL command"), "sequence");
    return;
  }
  const MailParams& p = c.mail;
  bool has_params = p.size || p.body != Body::kUnspecified || p.smtputf8 ||
                    p.ret != Ret::kUnspecified || !p.envid.empty();
  if (has_params && !state_.esmtp) {
    BadCommand(MakeReply(555, "5.5.4", "MAIL parameters require EHLO"), "syntax");
    return;
  }
  if (c.path.non_ascii && !p.smtputf8) {
    if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, "smtputf8_required");
    Respond(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter");
    return;
  }
  auto v = RunSteps([&](SessionStep& s) { return s.OnMail(state_, c.path, p); });
  if (v) {
    Reject(*v);
    return;
  }
  if (deps_.budget != nullptr && p.size && !deps_.budget->WouldFit(*p.size)) {
    if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, "no_storage");
    Respond(452, "4.3.1", "Insufficient system storage, try again later");
    return;
  }
  tx_.emplace();
  tx_->from = c.path;
  tx_->params = p;
  Respond(250, "2.1.0", "Ok");
}

void Session::OnData() {
  if (!tx_) {
    BadCommand(MakeReply(503, "5.5.1", "Error: need MAIL command"), "sequence");
    return;
  }
  if (bdat_used_) {
    BadCommand(MakeReply(503, "5.5.1", "Error: DATA not allowed after BDAT"), "sequence");
    return;
  }
  if (tx_->recipients.empty()) {
    BadCommand(MakeReply(554, "5.5.1", "Error: no valid recipients"), "sequence");
    return;
  }
  data_.emplace(cfg_.max_message_size, cfg_.max_line_length);
  mode_ = Mode::kData;
  SendRaw("354 End data with <CR><LF>.<CR><LF>");
}

void Session::OnBdat(const Command& c) {
  bdat_discard_ = false;
  bdat_error_.reset();
  if (state_.helo.empty()) {
    bdat_error_ = MakeReply(503, "5.5.1", "Error: send HELO/EHLO first");
  } else if (!tx_) {
    bdat_error_ = MakeReply(503, "5.5.1", "Error: need MAIL command");
  } else if (tx_->recipients.empty()) {
    bdat_error_ = MakeReply(554, "5.5.1", "Error: no valid recipients");
  } else if (bdat_content_.size() + c.bdat_size > cfg_.max_message_size ||
             c.bdat_size > cfg_.max_message_size) {
    bdat_error_ = MakeReply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  } else if (!content_lease_.Cover(bdat_content_.size() + c.bdat_size)) {
    bdat_error_ = MakeReply(452, "4.3.1", "Insufficient system storage, try again later");
  }
  // The chunk is read in every case: that is how the connection stays in sync.
  bdat_discard_ = bdat_error_.has_value();
  if (!bdat_discard_ && !bdat_used_) bdat_lines_.emplace(cfg_.max_line_length);
  bdat_used_ = bdat_used_ || !bdat_discard_;
  bdat_remaining_ = c.bdat_size;
  bdat_last_ = c.bdat_last;
  mode_ = Mode::kBdat;
  if (bdat_remaining_ == 0) BdatChunkDone();
}

void Session::BdatChunkDone() {
  mode_ = Mode::kCommand;
  if (bdat_discard_) {
    bdat_discard_ = false;
    Reply err = *bdat_error_;
    bdat_error_.reset();
    if (err.code == 552 || err.code == 452) {
      if (deps_.metrics) {
        deps_.metrics->MessageRejected(cfg_.listener, err.code == 552 ? "size" : "no_storage");
      }
      ResetTransaction();
      Respond(err);
    } else {
      BadCommand(err, "sequence");
    }
    return;
  }
  if (!bdat_last_) {
    Respond(250, "2.0.0", std::to_string(bdat_content_.size()) + " octets received");
    return;
  }
  // The same content checks as DATA (smtp_line_checker.h), the same replies.
  bdat_lines_->Finish();
  DataReader::Outcome outcome = DataReader::Outcome::kOk;
  if (bdat_lines_->bare_line_ending()) {
    outcome = DataReader::Outcome::kBareLineEnding;
  } else if (bdat_lines_->line_too_long()) {
    outcome = DataReader::Outcome::kLineTooLong;
  }
  std::string content = std::move(bdat_content_);
  bdat_content_.clear();
  // DATA content always ends with CRLF; BDAT content may stop mid-line.
  if (!content.empty() && content.back() != '\n') content += "\r\n";
  FinishMessage(outcome, std::move(content));
}

void Session::FinishMessage(DataReader::Outcome outcome, std::string content) {
  auto v = RunSteps(
      [&](SessionStep& s) { return s.OnMessage(state_, tx_->from, outcome, content); });
  if (v) {
    MessageEvent(cfg_, state_, &*tx_, {})
        .Field("status", "refused")
        .Field("reason", v->reason)
        .Info();
    Reject(*v);
    ResetTransaction();
    return;
  }
  const std::string id = deps_.ids->Next();
  log::Event line = MessageEvent(cfg_, state_, &*tx_, id);
  const int64_t now_ms = host_.NowMs();
  const uint64_t bytes = content.size();
  std::string message = BuildReceivedHeader(state_, *tx_, id, now_ms);
  message.reserve(message.size() + content.size());
  message += content;
  std::string().swap(content);  // one copy of the message at a time, not two
  queue::OutRecord out;
  out.topic = cfg_.topic;
  out.key = id;
  {
    smimegate::v1::MessageRecord rec = BuildRecord(state_, *tx_, id, now_ms, std::move(message));
    out.value = rec.SerializeAsString();
  }  // the record's copy of the message goes before the queue gets its own
  // The bytes stay counted until the queue has them (or the callback is
  // dropped with a dead connection).
  auto held = std::make_shared<ByteLease>(std::move(content_lease_));
  content_lease_ = ByteLease(deps_.budget);
  ResetTransaction();
  mode_ = Mode::kWaiting;
  const auto started = std::chrono::steady_clock::now();
  std::weak_ptr<bool> alive = alive_;
  host_.Enqueue(std::move(out), [this, alive, id, bytes, started, held, line](Status st) {
    held->Reset();
    auto a = alive.lock();
    if (!a || !*a) return;
    mode_ = Mode::kCommand;
    if (st.ok()) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
      if (deps_.metrics) {
        deps_.metrics->MessageAccepted(cfg_.listener,
                                       cfg_.role == Role::kMx ? "inbound" : "outbound", bytes,
                                       secs);
      }
      log::Event(line).Field("status", "accepted").Field("bytes", bytes).Info();
      Respond(250, "2.0.0", "Ok: queued as " + id);
    } else {
      bool timeout = st.error().code == ErrorCode::kTimeout;
      if (deps_.metrics) {
        deps_.metrics->MessageRejected(cfg_.listener,
                                       timeout ? "queue_timeout" : "queue_unavailable");
      }
      log::Event(line)
          .Field("status", "queue_refused")
          .Field("reason", st.error().ToString())
          .Warn();
      Respond(451, "4.3.0",
              timeout ? "Queue did not confirm the message in time, try again later"
                      : "Queue unavailable, try again later");
    }
    Process();
  });
}

void Session::RejectNoStorage() {
  if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, "no_storage");
  MessageEvent(cfg_, state_, tx_ ? &*tx_ : nullptr, {})
      .Field("status", "refused")
      .Field("reason", "max_bytes_in_flight reached")
      .Warn();
  ResetTransaction();
  Respond(452, "4.3.1", "Insufficient system storage, try again later");
}

void Session::ResetTransaction() {
  tx_.reset();
  data_.reset();
  content_lease_.Reset();
  no_storage_ = false;
  bdat_used_ = false;
  bdat_content_.clear();
  bdat_lines_.reset();
}

void Session::OnStartTls() {
  if (!cfg_.tls_available) {
    BadCommand(MakeReply(502, "5.5.1", "Error: STARTTLS not available"), "starttls");
    return;
  }
  if (state_.tls.active) {
    BadCommand(MakeReply(503, "5.5.1", "Error: TLS already active"), "sequence");
    return;
  }
  if (tx_) {
    BadCommand(MakeReply(503, "5.5.1", "Error: STARTTLS not allowed during a mail transaction"),
               "sequence");
    return;
  }
  Respond(220, "2.0.0", "Ready to start TLS");
  drop_input_ = true;
  mode_ = Mode::kWaiting;
  host_.StartTls();
}

}  // namespace sg::ingress
