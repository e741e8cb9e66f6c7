// One SMTP server session, independent of any transport: feed it the bytes
// the client sent, it answers through SessionHost. The libuv server
// (ingress_connection.h) is one host; the tests and the fuzz target are
// others, so the whole protocol is tested without sockets.
//
// Flow: Start() sends the greeting (or the connection policy's refusal);
// Feed() parses commands (pipelined input is buffered and answered in
// order); DATA and BDAT content goes through DataReader; at the end of the
// data the policy steps decide, then the record goes to SessionHost::Enqueue
// and the client gets 250 only from its callback with OK (invariant 1), or
// 451 4.3.0. While a STARTTLS handshake, an AUTH check or an enqueue is
// pending the session reads nothing more (input stays buffered).
//
// Threading: single-threaded; every call, including SessionHost callbacks,
// on the session's loop thread.
// Ownership: the host owns the session; the session keeps references to the
// config, steps, authenticator and id generator, which outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/queue.h"
#include "ingress/ingress_auth.h"
#include "ingress/ingress_byte_budget.h"
#include "ingress/ingress_envelope.h"
#include "ingress/ingress_failure_limiter.h"
#include "ingress/ingress_metrics.h"
#include "ingress/ingress_recipient_verifier.h"
#include "ingress/ingress_steps.h"
#include "ingress/smtp_data_reader.h"
#include "ingress/smtp_line_checker.h"
#include "ingress/smtp_parser.h"
#include "ingress/smtp_session_state.h"

namespace sg::ingress {

// Which of the server's blocking pools runs a piece of work.
enum class BlockingWork { kAuth, kRecipient };

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Bytes for the client (through TLS once active).
  virtual void Send(std::string_view bytes) = 0;
  // Begin the server side of a TLS handshake on the next client bytes; the
  // host calls Session::OnTlsUp when it completes or closes on failure.
  virtual void StartTls() = 0;
  // Flush what was sent and close; the session gets no further input.
  virtual void Close() = 0;
  // Make `record` durable; `done` runs exactly once on the session thread
  // (kTimeout when no ack came in time), and never after the session is gone.
  virtual void Enqueue(queue::OutRecord record, std::function<void(Status)> done) = 0;
  // Run `work` off the loop on the pool for `kind` (it may block), then
  // `done(true)` on the session thread; `done(false)` (work not run, also on
  // the session thread) when that pool's queue is full.
  virtual void RunBlocking(BlockingWork kind, std::function<void()> work,
                           std::function<void(bool ran)> done) = 0;
  // Wall clock, unix milliseconds.
  virtual int64_t NowMs() = 0;
};

struct SessionDeps {
  const SessionConfig* config = nullptr;
  const std::vector<std::shared_ptr<SessionStep>>* steps = nullptr;
  Authenticator* authenticator = nullptr;  // null: AUTH never succeeds
  MessageIdGenerator* ids = nullptr;
  IngressMetrics* metrics = nullptr;       // may be null
  ByteBudget* budget = nullptr;            // message bytes in flight; null: no cap
  FailureLimiter* auth_user_limit = nullptr;    // AUTH lockout per user name; may be null
  FailureLimiter* auth_client_limit = nullptr;  // AUTH lockout per client key; may be null
  RecipientVerifier* verifier = nullptr;        // MX recipient verification; null: none
  FailureLimiter* rcpt_failure_limit = nullptr; // unknown recipients per client key; may be null
};

class Session {
 public:
  Session(SessionDeps deps, std::string client_ip, uint16_t client_port, bool trusted,
          SessionHost& host);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Greeting, or refusal by the connection policy (which also closes).
  void Start();
  // Bytes from the client (plaintext; decrypted by the host under TLS).
  void Feed(std::string_view bytes);
  // The STARTTLS handshake completed (RFC 3207: forget everything learnt before).
  void OnTlsUp(const TlsState& tls);
  // The client was silent for IdleTimeout(): 421 and close.
  void OnIdleTimeout();
  // The session has lasted timeouts.session: 421 4.4.2 and close. While the
  // session waits (enqueue, AUTH check, TLS) that answer comes first.
  void OnSessionDeadline();
  // The server is stopping: close now when idle, else after the current
  // transaction's reply.
  void Shutdown();
  // The client went away; runs the steps' OnClose once.
  void OnDisconnect();

  // The timeout that applies while waiting for the client now (RFC 5321
  // 4.5.3.2: the data-block timeout inside DATA/BDAT, else the command one);
  // nullopt while the session itself waits (enqueue, AUTH check, TLS).
  std::optional<std::chrono::milliseconds> IdleTimeout() const;
  bool closed() const { return closed_; }
  bool in_transaction() const { return tx_.has_value() || mode_ != Mode::kCommand; }
  const SessionState& state() const { return state_; }

 private:
  enum class Mode { kCommand, kDiscardLine, kData, kBdat, kAuthPlain, kAuthLoginUser,
                    kAuthLoginPass, kWaiting };

  void Process();
  bool ProcessCommandLine(std::string_view line);
  void Respond(const Reply& r);
  void Respond(int code, std::string status, std::string text) {
    Respond(MakeReply(code, std::move(status), std::move(text)));
  }
  void BadCommand(const Reply& r, const char* kind);
  void Reject(const StepVerdict& v);
  std::optional<StepVerdict> RunSteps(
      const std::function<StepVerdict(SessionStep&)>& f);

  void OnHelo(const Command& c);
  void OnMail(const Command& c);
  void OnRcpt(const Command& c);
  bool NeedsVerification(const Path& path) const;
  void VerifyRecipient(Path path, RcptParams params);
  void AnswerRecipient(RecipientStatus status, bool cached, const Path& path,
                       const RcptParams& params);
  void AcceptRecipient(const Path& path, const RcptParams& params);
  void OnData();
  void OnBdat(const Command& c);
  void OnStartTls();
  void OnAuth(const Command& c);
  void OnAuthLine(std::string_view line);
  void CheckCredentials(std::string authzid, std::string user, std::string password);
  bool AuthLockedOut(const std::string& user_key);
  void OnCredentialsChecked(bool ran, const Result<std::string>& result,
                            const std::string& user_key);
  void FinishMessage(DataReader::Outcome outcome, std::string content);
  void RejectNoStorage();
  void ResetTransaction();
  void BdatChunkDone();
  void SendRaw(const std::string& line);
  void CloseNow();
  void CloseForDeadline();

  SessionDeps deps_;
  const SessionConfig& cfg_;
  SessionHost& host_;
  SessionState state_;
  std::string in_;
  Mode mode_ = Mode::kCommand;
  bool closed_ = false;
  bool shutting_down_ = false;
  bool processing_ = false;
  bool disconnected_ = false;
  bool drop_input_ = false;      // STARTTLS: discard what was pipelined after it
  bool deadline_passed_ = false;  // timeouts.session is over: close when not waiting
  size_t bad_commands_ = 0;
  std::optional<Transaction> tx_;
  std::optional<DataReader> data_;
  // The transaction's share of the byte budget (content received so far);
  // it moves into the enqueue callback and is given back at the ack.
  ByteLease content_lease_;
  bool no_storage_ = false;      // the budget ran out during this content
  // BDAT: octets of the current chunk still to read, and the content so far.
  uint64_t bdat_remaining_ = 0;
  bool bdat_last_ = false;
  bool bdat_used_ = false;       // this transaction uses BDAT (DATA now refused)
  bool bdat_discard_ = false;    // read the chunk only to stay in sync
  std::optional<Reply> bdat_error_;
  std::string bdat_content_;
  std::optional<LineChecker> bdat_lines_;  // bare CR/LF and line length of the content
  std::string auth_user_;        // LOGIN: user name between the two steps
  // Shared with pending callbacks so they can tell the session is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sg::ingress
