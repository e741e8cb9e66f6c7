#include "egress/egress_smtp_session.h"

#include "egress/egress_data_writer.h"

#include <cstring>
#include <memory>

namespace sg::egress {
namespace v1 = smimegate::v1;
namespace {

bool NonAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

std::string NotifyParam(const v1::DsnNotify& n) {
  if (n.never()) return "NEVER";
  std::string out;
  auto add = [&out](const char* w) {
    if (!out.empty()) out += ',';
    out += w;
  };
  if (n.success()) add("SUCCESS");
  if (n.failure()) add("FAILURE");
  if (n.delay()) add("DELAY");
  return out;
}

}  // namespace

std::string XText(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

SmtpSession::SmtpSession(uv_loop_t* loop, const SmtpClientConfig& config, TlsPolicy policy,
                         std::shared_ptr<TlsClientContext> tls_context, Timers* timers)
    : loop_(loop),
      own_timers_(timers == nullptr ? std::make_unique<UvTimers>(loop) : nullptr),
      timers_(timers == nullptr ? own_timers_.get() : timers),
      config_(config),
      policy_(std::move(policy)),
      tls_context_(std::move(tls_context)) {}

SmtpSession::~SmtpSession() {
  if (conn_ != nullptr) conn_->Close();
}

SmtpCommand SmtpSession::Command(std::string line, const char* verb) const {
  return {std::move(line), config_.timeouts.command,
          std::string("the reply to ") + verb + " (egress.smtp.command_timeout)"};
}

DataDeadlines SmtpSession::Deadlines(uint64_t size) const {
  const SmtpTimeouts& t = config_.timeouts;
  return {t.data_block, DataTransferBudget(t, size), t.data_done};
}

void SmtpSession::Quit() {
  if (conn_ != nullptr && !conn_->broken()) conn_->SendOnly("QUIT\r\n");
  open_ = false;
}

void SmtpSession::Open(const std::string& host, const sockaddr* addr,
                       std::function<void(Status)> done) {
  host_ = host;
  conn_ = SmtpConnection::Create(loop_, *timers_);
  conn_->Connect(addr, config_.timeouts.connect, config_.timeouts.greeting,
                 [this, done = std::move(done)](Result<std::vector<SmtpReply>> r) mutable {
                   if (!r.ok()) {
                     done(std::move(r).error());
                     return;
                   }
                   const SmtpReply& greeting = r->front();
                   if (greeting.code != 220) {
                     done(MakeError(ErrorCode::kUnavailable, "greeting: " + greeting.ToString()));
                     return;
                   }
                   Ehlo(std::move(done));
                 });
}

void SmtpSession::Ehlo(std::function<void(Status)> done) {
  conn_->Exchange(
      {Command("EHLO " + config_.helo_name, "EHLO")}, false,
      [this, done = std::move(done)](Result<std::vector<SmtpReply>> r) mutable {
        if (!r.ok()) {
          done(std::move(r).error());
          return;
        }
        const SmtpReply& ehlo = r->front();
        if (ehlo.code == 250) {
          caps_ = ParseEhloCaps(ehlo);
          AfterEhlo(std::move(done));
          return;
        }
        if (ehlo.code >= 500 && !tls_active() && policy_.mode != TlsMode::kRequired) {
          // An old server: HELO, no extensions (and so no STARTTLS).
          conn_->Exchange({Command("HELO " + config_.helo_name, "HELO")}, false,
                          [this, done = std::move(done)](Result<std::vector<SmtpReply>> h) mutable {
                            if (!h.ok()) {
                              done(std::move(h).error());
                            } else if (h->front().code != 250) {
                              done(MakeError(ErrorCode::kUnavailable, "HELO: " + h->front().ToString()));
                            } else {
                              caps_ = EhloCaps();
                              AfterEhlo(std::move(done));
                            }
                          });
          return;
        }
        done(MakeError(ErrorCode::kUnavailable, "EHLO: " + ehlo.ToString()));
      });
}

void SmtpSession::AfterEhlo(std::function<void(Status)> done) {
  if (tls_active() || policy_.mode == TlsMode::kNone) {
    open_ = true;
    done(OkStatus());
    return;
  }
  if (!caps_.starttls || tls_tried_) {
    if (!caps_.starttls && !tls_tried_) tls_failure_ = "starttls-not-supported";
    if (policy_.mode == TlsMode::kRequired) {
      done(MakeError(ErrorCode::kPermissionDenied,
                     "TLS is required for this route but " + host_ + " does not offer STARTTLS"));
      return;
    }
    open_ = true;
    done(OkStatus());
    return;
  }
  tls_tried_ = true;
  conn_->Exchange(
      {Command("STARTTLS", "STARTTLS")}, false,
      [this, done = std::move(done)](Result<std::vector<SmtpReply>> r) mutable {
        if (!r.ok()) {
          done(std::move(r).error());
          return;
        }
        if (r->front().code != 220) {
          tls_failure_ = "starttls-not-supported";
          if (policy_.mode == TlsMode::kRequired) {
            done(MakeError(ErrorCode::kPermissionDenied,
                           "TLS is required but STARTTLS was refused: " + r->front().ToString()));
            return;
          }
          // Opportunistic: the server refused TLS but the session is still valid in clear.
          open_ = true;
          done(OkStatus());
          return;
        }
        auto tls = TlsSession::Create(*tls_context_, host_, dane_.get());
        if (!tls.ok()) {
          done(std::move(tls).error());
          return;
        }
        conn_->StartTls(std::move(*tls), config_.timeouts.command,
                        [this, done = std::move(done)](Status st) mutable {
                          const TlsSession* started = conn_->tls();
                          const long vr =
                              started != nullptr ? started->VerifyResult() : 0;  // NOLINT
                          if (tls_context_->verify() || tls_context_->audit()) {
                            tls_failure_ = TlsRptCertificateFailure(vr);
                          }
                          if (!st.ok()) {
                            if (tls_failure_.empty()) tls_failure_ = "validation-failure";
                            // Even opportunistic TLS does not continue in clear on this
                            // connection: its state is unknown. The caller may retry.
                            done(std::move(st));
                            return;
                          }
                          Ehlo(std::move(done));  // RFC 3207: forget what was learnt before TLS
                        });
      });
}

void SmtpSession::Send(const SmtpTransaction& txn, std::function<void(TransactionResult)> done) {
  const size_t n = txn.recipients.size();
  auto all = [n](int code, std::string text) {
    TransactionResult res;
    res.recipients.assign(n, RecipientOutcome{code, std::move(text)});
    return res;
  };
  if (!usable()) {
    done(all(421, "4.4.2 connection lost before the transaction"));
    return;
  }
  const std::string& body = *txn.message;
  if (caps_.size && caps_.max_size > 0 && body.size() > caps_.max_size) {
    done(all(552, "5.3.4 message size " + std::to_string(body.size()) +
                      " exceeds the limit of " + host_ + " (" + std::to_string(caps_.max_size) + ")"));
    return;
  }
  // Stuffed before MAIL: a message egress will not send fails without a word to the server.
  auto stuffed = DotStuff(body);
  if (!stuffed.ok()) {
    done(all(554, "5.6.0 " + stuffed.error().message));
    return;
  }
  auto data = std::make_shared<std::string>(std::move(*stuffed));
  bool needs_utf8 = NonAscii(txn.mail_from);
  for (const auto& r : txn.recipients) needs_utf8 = needs_utf8 || NonAscii(r.address());
  if (needs_utf8 && !caps_.smtputf8) {
    done(all(553, "5.6.7 " + host_ + " does not support SMTPUTF8, needed by the addresses"));
    return;
  }

  std::string mail = "MAIL FROM:<" + txn.mail_from + ">";
  if (caps_.size) mail += " SIZE=" + std::to_string(body.size());
  if (txn.eight_bit_mime && caps_.eight_bit_mime) mail += " BODY=8BITMIME";
  if (needs_utf8 || (txn.smtputf8 && caps_.smtputf8)) mail += " SMTPUTF8";
  if (caps_.dsn) {
    if (txn.dsn_ret == v1::DSN_RET_FULL) mail += " RET=FULL";
    if (txn.dsn_ret == v1::DSN_RET_HDRS) mail += " RET=HDRS";
    if (!txn.dsn_envid.empty()) mail += " ENVID=" + XText(txn.dsn_envid);
  }
  const SmtpTimeouts& t = config_.timeouts;
  std::vector<SmtpCommand> cmds{{mail, t.mail, "the reply to MAIL (egress.smtp.mail_timeout)"}};
  for (const auto& r : txn.recipients) {
    std::string rcpt = "RCPT TO:<" + r.address() + ">";
    if (caps_.dsn) {
      if (r.notify_given()) {
        std::string notify = NotifyParam(r.notify());
        if (!notify.empty()) rcpt += " NOTIFY=" + notify;
      }
      if (!r.orcpt().empty()) {
        auto semi = r.orcpt().find(';');
        std::string type = semi == std::string::npos ? "rfc822" : r.orcpt().substr(0, semi);
        std::string addr = semi == std::string::npos ? r.orcpt() : r.orcpt().substr(semi + 1);
        rcpt += " ORCPT=" + type + ";" + XText(addr);
      }
    }
    cmds.push_back({std::move(rcpt), t.rcpt, "the reply to RCPT (egress.smtp.rcpt_timeout)"});
  }
  cmds.push_back({"DATA", t.data_init, "the reply to DATA (egress.smtp.data_init_timeout)"});

  auto lost = [n](const Error& e) {
    TransactionResult res;
    res.recipients.assign(n, RecipientOutcome{421, "4.4.2 " + e.message});
    return res;
  };
  conn_->Exchange(
      std::move(cmds), caps_.pipelining,
      [this, n, data, done = std::move(done), lost](Result<std::vector<SmtpReply>> r) mutable {
        if (!r.ok()) {
          done(lost(r.error()));
          return;
        }
        const auto& replies = *r;
        TransactionResult res;
        res.recipients.resize(n);
        const SmtpReply& mail_reply = replies[0];
        size_t accepted = 0;
        for (size_t i = 0; i < n; ++i) {
          const SmtpReply& rr = mail_reply.code == 250 ? replies[i + 1] : mail_reply;
          res.recipients[i] = RecipientOutcome{rr.code, rr.Text()};
          if (mail_reply.code == 250 && rr.Positive()) ++accepted;
        }
        const SmtpReply& data_reply = replies[n + 1];
        if (data_reply.code != 354) {
          for (size_t i = 0; i < n; ++i) {
            if (res.recipients[i].code < 400) res.recipients[i] = {data_reply.code, data_reply.Text()};
          }
          // Leave the connection in a clean state for the next transaction.
          conn_->Exchange({Command("RSET", "RSET")}, false,
                          [done = std::move(done), res](Result<std::vector<SmtpReply>>) mutable {
                            done(std::move(res));
                          });
          return;
        }
        if (accepted == 0) {
          // RFC 2920 3.1: DATA accepted although no recipient was: send an empty message
          // terminator; the server must not deliver it.
          conn_->SendData(".\r\n", Deadlines(3),
                          [done = std::move(done), res](Result<std::vector<SmtpReply>>) mutable {
                            done(std::move(res));
                          });
          return;
        }
        const DataDeadlines deadlines = Deadlines(data->size());
        conn_->SendData(
            std::move(*data), deadlines,
            [done = std::move(done), res, n, lost](Result<std::vector<SmtpReply>> fr) mutable {
              if (!fr.ok()) {
                // Unknown whether the server took it: retry (a duplicate is better than a loss).
                auto l = lost(fr.error());
                for (size_t i = 0; i < n; ++i) {
                  if (res.recipients[i].code < 400) res.recipients[i] = l.recipients[i];
                }
                done(std::move(res));
                return;
              }
              const SmtpReply& final_reply = fr->front();
              for (size_t i = 0; i < n; ++i) {
                if (res.recipients[i].code < 400) {
                  res.recipients[i] = {final_reply.code, final_reply.Text()};
                }
              }
              done(std::move(res));
            });
      });
}

}  // namespace sg::egress
