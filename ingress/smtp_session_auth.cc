// SMTP AUTH (RFC 4954) of the session: PLAIN and LOGIN after STARTTLS, the
// argon2 check on the AUTH pool, and the lockout per user name and client.
#include <spdlog/spdlog.h>

#include "ingress/smtp_session.h"  // IWYU pragma: associated

#include "common/ascii.h"
#include "common/mail/base64.h"

namespace sg::ingress {

void Session::OnAuth(const Command& c) {
  if (!cfg_.auth_enabled) {
    BadCommand(MakeReply(503, "5.5.1", "Error: authentication not enabled"), "auth");
    return;
  }
  if (!state_.tls.active) {
    BadCommand(MakeReply(538, "5.7.11",
                         "Encryption required for requested authentication "
                         "mechanism"),
               "auth");
    return;
  }
  if (!state_.esmtp) {
    BadCommand(MakeReply(503, "5.5.1", "Error: send EHLO first"), "sequence");
    return;
  }
  if (!state_.auth_identity.empty()) {
    BadCommand(MakeReply(503, "5.5.1", "Error: already authenticated"), "sequence");
    return;
  }
  if (tx_) {
    BadCommand(MakeReply(503, "5.5.1", "Error: AUTH not allowed during a mail transaction"),
               "sequence");
    return;
  }
  if (c.argument == "PLAIN") {
    mode_ = Mode::kAuthPlain;
    if (c.has_initial_response) {
      OnAuthLine(c.initial_response == "=" ? std::string_view() : c.initial_response);
    } else {
      SendRaw("334 ");
    }
  } else if (c.argument == "LOGIN") {
    if (c.has_initial_response) {
      mode_ = Mode::kAuthLoginUser;
      OnAuthLine(c.initial_response);
    } else {
      mode_ = Mode::kAuthLoginUser;
      SendRaw("334 VXNlcm5hbWU6");  // "Username:"
    }
  } else {
    BadCommand(MakeReply(504, "5.5.4", "Unrecognized authentication mechanism"), "auth");
  }
}

void Session::OnAuthLine(std::string_view line) {
  const Mode mode = mode_;
  mode_ = Mode::kCommand;
  if (line == "*") {
    Respond(501, "5.0.0", "Authentication cancelled");
    return;
  }
  auto decoded = mail::Base64DecodeStrict(line);
  if (!decoded.ok()) {
    BadCommand(MakeReply(501, "5.5.2", "Invalid base64 data"), "auth");
    return;
  }
  if (mode == Mode::kAuthPlain) {
    auto creds = DecodeSaslPlain(*decoded);
    if (!creds.ok()) {
      BadCommand(MakeReply(501, "5.5.2", "Malformed PLAIN response"), "auth");
      return;
    }
    CheckCredentials(creds->authzid, creds->user, creds->password);
  } else if (mode == Mode::kAuthLoginUser) {
    auth_user_ = *decoded;
    mode_ = Mode::kAuthLoginPass;
    SendRaw("334 UGFzc3dvcmQ6");  // "Password:"
  } else {
    CheckCredentials("", std::move(auth_user_), std::move(*decoded));
    auth_user_.clear();
  }
}

void Session::CheckCredentials(std::string authzid, std::string user, std::string password) {
  // The lockout counts user names as typed, existing or not (no oracle).
  const std::string user_key = AsciiLower(user);
  if (AuthLockedOut(user_key)) {
    if (deps_.metrics) deps_.metrics->Auth(cfg_.listener, "locked");
    spdlog::warn("ingress {}: AUTH from {} refused: locked out after repeated failures",
                 cfg_.listener, state_.client_ip);
    Respond(454, "4.7.0", "Too many failed authentication attempts, try again later");
    return;
  }
  mode_ = Mode::kWaiting;
  auto result = std::make_shared<Result<std::string>>(
      MakeError(ErrorCode::kPermissionDenied, "no authenticator configured"));
  Authenticator* auth = deps_.authenticator;
  std::weak_ptr<bool> alive = alive_;
  host_.RunBlocking(
      BlockingWork::kAuth,
      [auth, result, authzid = std::move(authzid), user = std::move(user),
       password = std::move(password)] {
        if (auth != nullptr) *result = auth->Verify(authzid, user, password);
      },
      [this, alive, result, user_key](bool ran) {
        auto a = alive.lock();
        if (!a || !*a) return;
        mode_ = Mode::kCommand;
        OnCredentialsChecked(ran, *result, user_key);
        Process();
      });
}

bool Session::AuthLockedOut(const std::string& user_key) {
  const int64_t now = host_.NowMs();
  return (deps_.auth_user_limit != nullptr && deps_.auth_user_limit->Locked(user_key, now)) ||
         (deps_.auth_client_limit != nullptr &&
          deps_.auth_client_limit->Locked(state_.client_key, now));
}

void Session::OnCredentialsChecked(bool ran, const Result<std::string>& result,
                                   const std::string& user_key) {
  if (!ran) {
    // The AUTH pool is saturated: a flood, or far too few threads.
    if (deps_.metrics) deps_.metrics->Auth(cfg_.listener, "busy");
    Respond(454, "4.7.0", "Temporary authentication failure, try again later");
    return;
  }
  if (result.ok()) {
    if (deps_.metrics) deps_.metrics->Auth(cfg_.listener, "ok");
    if (deps_.auth_user_limit != nullptr) deps_.auth_user_limit->Clear(user_key);
    state_.auth_identity = result.value();
    Respond(235, "2.7.0", "Authentication successful");
    return;
  }
  if (result.error().code == ErrorCode::kUnavailable) {
    if (deps_.metrics) deps_.metrics->Auth(cfg_.listener, "unavailable");
    Respond(454, "4.7.0", "Temporary authentication failure");
    return;
  }
  if (deps_.metrics) deps_.metrics->Auth(cfg_.listener, "failed");
  const int64_t now = host_.NowMs();
  bool locked = false;
  if (deps_.auth_user_limit != nullptr) {
    locked = deps_.auth_user_limit->Failure(user_key, now) || locked;
  }
  if (deps_.auth_client_limit != nullptr) {
    locked = deps_.auth_client_limit->Failure(state_.client_key, now) || locked;
  }
  if (locked) {
    spdlog::warn("ingress {}: AUTH lockout after repeated failures (client {})", cfg_.listener,
                 state_.client_key);
  } else {
    spdlog::info("ingress {}: AUTH failed from {}", cfg_.listener, state_.client_ip);
  }
  BadCommand(MakeReply(535, "5.7.8", "Authentication credentials invalid"), "auth");
}

}  // namespace sg::ingress
