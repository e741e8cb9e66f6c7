// An SMTP client session on one connection: greeting, EHLO (HELO
// fallback), STARTTLS per the route's TLS policy, then any number of mail
// transactions (connection reuse), then QUIT.
//
// Extensions used when the server offers them: PIPELINING (MAIL, RCPTs and
// DATA in one write), SIZE (declared; a message over the limit fails with
// 552 5.3.4 without being sent), 8BITMIME (BODY=8BITMIME), SMTPUTF8 (a
// message whose envelope needs it fails with 553 5.6.7 when not offered,
// RFC 6531), DSN (NOTIFY/ORCPT/RET/ENVID passed on).
//
// TLS: kRequired never sends a transaction in clear: no STARTTLS offered,
// a failed handshake or a failed verification fail Open (transiently, so
// the message is retried). kOpportunistic falls back to plain text when
// STARTTLS is not offered.
//
// Deadlines: one per stage (SmtpTimeouts, RFC 5321 4.5.3.2): greeting,
// EHLO/STARTTLS, MAIL, each RCPT, DATA, each block of data and the whole
// data (scaled to the message size), the final reply.
//
// Threading: loop thread only. Ownership: the session owns its connection;
// destroy the session to close it (Quit first for a polite goodbye).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "egress/egress_config.h"
#include "egress/egress_smtp_connection.h"
#include "egress/egress_smtp_reply.h"
#include "egress/egress_tls.h"
#include "proto/envelope.pb.h"

namespace sg::egress {

struct SmtpTransaction {
  std::string mail_from;  // empty for the null sender
  std::vector<smimegate::v1::Recipient> recipients;
  // CRLF message, not dot-stuffed; outlives the call. A bare CR or LF fails
  // every recipient with 554 5.6.0 before MAIL (egress_data_writer.h).
  const std::string* message = nullptr;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  smimegate::v1::DsnRet dsn_ret = smimegate::v1::DSN_RET_UNSPECIFIED;
  std::string dsn_envid;
};

// The outcome for one recipient: the reply that decided it.
struct RecipientOutcome {
  int code = 0;       // 250: delivered; 4xx: retry; 5xx: bounce
  std::string text;   // reply text without the code ("5.1.1 no such user")
};

struct TransactionResult {
  std::vector<RecipientOutcome> recipients;  // in SmtpTransaction::recipients order
};

// xtext (RFC 3461 4) for ENVID and ORCPT values.
std::string XText(const std::string& value);

class SmtpSession {
 public:
  // `timers` (default: libuv timers of `loop`) outlives the session.
  SmtpSession(uv_loop_t* loop, const SmtpClientConfig& config, TlsPolicy policy,
              std::shared_ptr<TlsClientContext> tls_context, Timers* timers = nullptr);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Connects to `addr` of `host` (the name checked by TLS verification).
  // Fails with the reason (timeout, refused, greeting not 220, TLS required
  // but not offered, verification failed...); the caller tries the next host.
  void Open(const std::string& host, const sockaddr* addr, std::function<void(Status)> done);

  // One mail transaction. Always yields one outcome per recipient; a broken
  // connection yields 4xx outcomes ("421 4.4.2 ...") for the recipients not
  // yet decided.
  void Send(const SmtpTransaction& txn, std::function<void(TransactionResult)> done);

  // QUIT without waiting for the answer.
  void Quit();

  bool usable() const { return conn_ != nullptr && !conn_->broken() && open_; }
  bool tls_active() const { return conn_ != nullptr && conn_->tls_active(); }
  const EhloCaps& caps() const { return caps_; }
  const std::string& host() const { return host_; }
  // After Open: the TLS-RPT (RFC 8460) failure type of this session's TLS,
  // "" when TLS was established and (verifying or auditing contexts) the
  // certificate verified: starttls-not-supported, certificate-expired,
  // certificate-host-mismatch, certificate-not-trusted, validation-failure.
  // With an auditing context (MTA-STS testing) the session is open anyway.
  const std::string& tls_failure() const { return tls_failure_; }
  // DANE (egress_dane.h): the TLSA records the certificate must match;
  // call before Open, with a TlsClientContext::CreateDane context.
  void SetDane(std::shared_ptr<const DaneTarget> dane) { dane_ = std::move(dane); }

 private:
  SmtpCommand Command(std::string line, const char* verb) const;  // command_timeout
  DataDeadlines Deadlines(uint64_t size) const;
  void Ehlo(std::function<void(Status)> done);
  void AfterEhlo(std::function<void(Status)> done);

  uv_loop_t* loop_;
  std::unique_ptr<Timers> own_timers_;
  Timers* timers_;
  const SmtpClientConfig& config_;
  TlsPolicy policy_;
  std::shared_ptr<TlsClientContext> tls_context_;
  SmtpConnection* conn_ = nullptr;
  std::string host_;
  EhloCaps caps_;
  bool open_ = false;
  bool tls_tried_ = false;
  std::string tls_failure_;
  std::shared_ptr<const DaneTarget> dane_;
};

}  // namespace sg::egress
