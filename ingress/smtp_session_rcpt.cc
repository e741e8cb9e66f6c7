// RCPT TO of the session: sequence and address checks, the policy steps,
// then, on MX listeners of verified domains, recipient verification
// (ingress_recipient_verifier.h) on the recipient pool.
#include <spdlog/spdlog.h>

#include "ingress/smtp_session.h"  // IWYU pragma: associated

#include "common/ascii.h"
#include "common/mail/address.h"

namespace sg::ingress {

void Session::OnRcpt(const Command& c) {
  if (!tx_) {
    BadCommand(MakeReply(503, "5.5.1", "Error: need MAIL command"), "sequence");
    return;
  }
  if (c.path.non_ascii && !tx_->params.smtputf8) {
    if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, "smtputf8_required");
    Respond(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter");
    return;
  }
  Path path = c.path;
  if (path.address.find('@') == std::string::npos) {
    // "<Postmaster>" (RFC 5321 4.5.1): for us, the postmaster of our host.
    path.address = "postmaster@" + cfg_.hostname;
  }
  auto v = RunSteps([&](SessionStep& s) { return s.OnRcpt(state_, path, tx_->recipients.size()); });
  if (v) {
    Reject(*v);
    return;
  }
  if (NeedsVerification(path)) {
    VerifyRecipient(std::move(path), c.rcpt);
    return;
  }
  AcceptRecipient(path, c.rcpt);
}

void Session::AcceptRecipient(const Path& path, const RcptParams& params) {
  if (!tx_) return;
  tx_->recipients.push_back(AcceptedRecipient{path, params});
  Respond(250, "2.1.5", "Ok");
}

bool Session::NeedsVerification(const Path& path) const {
  if (cfg_.role != Role::kMx || deps_.verifier == nullptr) return false;
  // RFC 5321 4.5.1: postmaster is always accepted.
  if (AsciiLower(path.address.substr(0, path.address.rfind('@'))) == "postmaster") return false;
  return deps_.verifier->Verifies(mail::DomainOf(path.address));
}

void Session::VerifyRecipient(Path path, RcptParams params) {
  const int64_t now = host_.NowMs();
  if (deps_.rcpt_failure_limit != nullptr &&
      deps_.rcpt_failure_limit->Locked(state_.client_key, now)) {
    // Not verified at all: no answer here tells anything about the address.
    if (deps_.metrics) {
      deps_.metrics->RecipientChecked(cfg_.listener, "rate_limited", false);
      deps_.metrics->MessageRejected(cfg_.listener, "recipient_rate_limited");
    }
    Respond(450, "4.7.1", "Too many unknown recipients from your address, try again later");
    return;
  }
  if (auto cached = deps_.verifier->Cached(path.address, now)) {
    AnswerRecipient(*cached, true, path, params);
    return;
  }
  mode_ = Mode::kWaiting;
  auto status = std::make_shared<RecipientStatus>(RecipientStatus::kUnavailable);
  RecipientVerifier* verifier = deps_.verifier;
  std::weak_ptr<bool> alive = alive_;
  // A copy made before the call: the second lambda moves `path`, and the
  // order in which arguments are built is unspecified.
  std::string address = path.address;
  host_.RunBlocking(
      BlockingWork::kRecipient,
      [verifier, status, address = std::move(address), now] {
        *status = verifier->Verify(address, now);
      },
      [this, alive, status, path = std::move(path), params = std::move(params)](bool ran) {
        auto a = alive.lock();
        if (!a || !*a) return;
        mode_ = Mode::kCommand;
        AnswerRecipient(ran ? *status : RecipientStatus::kUnavailable, false, path, params);
        Process();
      });
}

void Session::AnswerRecipient(RecipientStatus status, bool cached, const Path& path,
                              const RcptParams& params) {
  if (deps_.metrics) {
    deps_.metrics->RecipientChecked(cfg_.listener, RecipientStatusName(status), cached);
  }
  switch (status) {
    case RecipientStatus::kKnown:
      AcceptRecipient(path, params);
      return;
    case RecipientStatus::kUnknown:
      if (deps_.rcpt_failure_limit != nullptr &&
          deps_.rcpt_failure_limit->Failure(state_.client_key, host_.NowMs())) {
        spdlog::warn("ingress {}: client {} rate-limited after too many unknown recipients",
                     cfg_.listener, state_.client_key);
      }
      if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, "recipient_unknown");
      // One wording whichever source decided (no detail from a callout).
      Respond(550, "5.1.1", "<" + path.address + ">: Recipient address rejected: User unknown");
      return;
    case RecipientStatus::kUnavailable:
      if (deps_.metrics) deps_.metrics->MessageRejected(cfg_.listener, "recipient_unverifiable");
      Respond(451, "4.4.3",
              "<" + path.address +
                  ">: Recipient address verification is temporarily unavailable, "
                  "try again later");
      return;
  }
}

}  // namespace sg::ingress
