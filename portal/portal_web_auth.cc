// The portal's login, registration, TOTP, logout and reset pages
// (portal_web.h); the rules behind them are in portal_accounts.h.
#include <spdlog/spdlog.h>

#include "portal/portal_intake.h"
#include "portal/portal_web.h"
#include "portal/portal_web_call.h"

namespace sg::portal {
namespace {

// A message id as the routes write it (32 hex digits): the only thing the
// login form's "m" may carry, so it cannot redirect anywhere else.
bool IsMessageId(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status PortalWeb::LogIn(Call& call, const std::string& address, bool totp_pending,
                        int64_t generation) {
  LiveSession old = call.session ? *call.session : LiveSession{};
  SG_ASSIGN_OR_RETURN(LiveSession fresh,
                      d_.sessions.Rotate(old, address, totp_pending, generation));
  call.res.set_header("Set-Cookie", Sessions::CookieHeader(fresh.id));
  call.session = std::move(fresh);
  return OkStatus();
}

void PortalWeb::AfterLogin(Call& call) {
  std::string next = call.session->data.after_login();
  if (!next.empty()) {
    call.session->data.clear_after_login();
    if (auto s = d_.sessions.Save(*call.session); !s.ok()) {
      spdlog::warn("portal: session: {}", s.error().ToString());
    }
    Redirect(call, "/m/" + next);
    return;
  }
  Redirect(call, "/inbox");
}

// A link page's start: the URL's link (else the refusal is answered and
// nullopt returned), its brand and language, and a session.
std::optional<pb::LinkToken> PortalWeb::OpenLink(Call& call, pb::LinkToken::Purpose purpose) {
  auto link = d_.links.Peek(call.Match(1), purpose);
  if (!link.ok() || !*link) {
    d_.metrics.refused.WithLabels({"link"}).Inc();
    Info(call, "link_invalid_title", "link_invalid", link.ok() ? 410 : 503, true);
    return std::nullopt;
  }
  SetBrand(call, (*link)->domain());
  if (!EnsureSession(call).ok()) {
    Info(call, "error_title", "error_text", 503, false);
    return std::nullopt;
  }
  return std::move(**link);
}

void PortalWeb::LinkPage(Call& call) {
  const std::string token = call.Match(1);
  auto link = OpenLink(call, pb::LinkToken::PURPOSE_MESSAGE);
  if (!link) return;
  call.session->data.set_brand(call.brand);
  call.session->data.set_after_login(link->message_id());
  if (!d_.sessions.Save(*call.session).ok()) return Info(call, "error_title", "error_text", 503, false);
  auto account = d_.vault.store().GetAccount(link->address());
  if (!account.ok()) return Info(call, "error_title", "error_text", 503, false);
  mustache::data data;
  data.set("address", link->address());
  data.set("token", token);
  if (account->has_value()) {
    if (call.logged_in() && call.address() == link->address()) {
      return AfterLogin(call);
    }
    data.set("title", Text(call, "login_title"));
    Render(call, "login", data);
    return;
  }
  PasswordForm(call, token, *link, "", 200);
}

void PortalWeb::LinkSubmit(Call& call) {
  auto answer = d_.accounts.Register(call.Match(1), call.Param("password"), call.Param("password2"),
                                     call.Param("code"), call.ip);
  PasswordSubmitted(call, answer, pb::LinkToken::PURPOSE_MESSAGE);
}

// The registration form of a message link and the new-password form of a
// reset link are one form: token, address, password rule, and the
// registration code or the TOTP code when the link or account needs one.
void PortalWeb::PasswordForm(Call& call, const std::string& token, const pb::LinkToken& link,
                             const std::string& error_key, int status) {
  const bool reset = link.purpose() == pb::LinkToken::PURPOSE_RESET;
  mustache::data data;
  data.set("title", Text(call, reset ? "new_password_title" : "register_title"));
  if (!error_key.empty()) data.set("error", Text(call, error_key));
  data.set("token", token);
  data.set("address", link.address());
  if (reset) {
    auto account = d_.vault.store().GetAccount(link.address());
    data.set("totp", account.ok() && account->has_value() &&
                         !(*account)->sealed_totp_secret().empty());
  } else {
    data.set("code_required", !link.code_hash().empty());
  }
  data.set("min_length", std::to_string(d_.config.min_password_length));
  data.set("password_rule", PasswordRule(call));
  Render(call, reset ? "reset" : "register", data, status);
}

// After Register or Reset: a new session and on to the message (or the
// inbox), or the form again with the reason.
void PortalWeb::PasswordSubmitted(Call& call, const Result<Accounts::Answer>& answer,
                                  pb::LinkToken::Purpose purpose) {
  if (!answer.ok()) return Info(call, "error_title", "error_text", 503, false);
  using O = Accounts::Outcome;
  if (answer->outcome == O::kLinkInvalid) {
    return Info(call, "link_invalid_title", "link_invalid", 410, true);
  }
  if (answer->outcome != O::kOk) {
    const std::string token = call.Match(1);
    auto link = d_.links.Peek(token, purpose);
    pb::LinkToken shown;  // a link gone meanwhile: the same form, no address
    if (link.ok() && *link) shown = **link;
    shown.set_purpose(purpose);
    const bool locked = answer->outcome == O::kLocked && purpose == pb::LinkToken::PURPOSE_RESET;
    PasswordForm(call, token, shown, answer->message_key, locked ? 429 : 400);
    return;
  }
  if (!LogIn(call, answer->address, false, answer->generation).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  Redirect(call, purpose == pb::LinkToken::PURPOSE_RESET
                     ? std::string("/inbox?n=password_changed")
                     : "/m/" + answer->message_id + "?n=registered");
}

void PortalWeb::LoginPage(Call& call) {
  const std::string open = call.Param("m");
  if (call.logged_in()) return Redirect(call, IsMessageId(open) ? "/m/" + open : "/inbox");
  if (!EnsureSession(call).ok()) return Info(call, "error_title", "error_text", 503, false);
  mustache::data data;
  data.set("title", Text(call, "login_title"));
  if (IsMessageId(open)) data.set("open", open);
  Render(call, "login", data);
}

void PortalWeb::LoginSubmit(Call& call) {
  const std::string address = NormalizeRecipient(call.Param("address"));
  auto answer = d_.accounts.Login(address, call.Param("password"), call.ip);
  if (!answer.ok()) return Info(call, "error_title", "error_text", 503, false);
  using O = Accounts::Outcome;
  if (answer->outcome == O::kWrong || answer->outcome == O::kLocked) {
    mustache::data data;
    data.set("title", Text(call, "login_title"));
    data.set("error", Text(call, answer->message_key));
    data.set("address", address);
    data.set("token", call.Param("token"));
    if (IsMessageId(call.Param("m"))) data.set("open", call.Param("m"));
    Render(call, "login", data, answer->outcome == O::kLocked ? 429 : 401);
    return;
  }
  // The message the reader wanted before login (GET /m/<id>), carried by
  // the form; Rotate keeps it in the new session.
  if (IsMessageId(call.Param("m")) && call.session) {
    call.session->data.set_after_login(call.Param("m"));
  }
  // A message link used to log in is used up like any other.
  const std::string token = call.Param("token");
  if (!token.empty()) {
    auto link = d_.links.Peek(token, pb::LinkToken::PURPOSE_MESSAGE);
    if (link.ok() && *link && (*link)->address() == answer->address) {
      auto used = d_.links.Consume(token);
      if (used.ok() && *used && call.session) {
        call.session->data.set_after_login((*link)->message_id());
      }
    }
  }
  if (!LogIn(call, answer->address, answer->outcome == O::kTotpRequired,
                 answer->generation).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  if (answer->outcome == O::kTotpRequired) return Redirect(call, "/login/totp");
  AfterLogin(call);
}

void PortalWeb::TotpPage(Call& call) {
  if (!call.session || !call.session->data.totp_pending()) return Redirect(call, "/login");
  mustache::data data;
  data.set("title", Text(call, "totp_title"));
  Render(call, "totp", data);
}

void PortalWeb::TotpSubmit(Call& call) {
  if (!call.session || !call.session->data.totp_pending()) return Redirect(call, "/login");
  const std::string address = call.session->data.address();
  auto answer = d_.accounts.CompleteTotp(address, call.Param("code"), call.ip);
  if (!answer.ok()) return Info(call, "error_title", "error_text", 503, false);
  if (answer->outcome != Accounts::Outcome::kOk) {
    mustache::data data;
    data.set("title", Text(call, "totp_title"));
    data.set("error", Text(call, answer->message_key));
    Render(call, "totp", data, answer->outcome == Accounts::Outcome::kLocked ? 429 : 401);
    return;
  }
  if (!LogIn(call, address, false, answer->generation).ok()) {
    return Info(call, "error_title", "error_text", 503, false);
  }
  AfterLogin(call);
}

void PortalWeb::Logout(Call& call) {
  if (call.session) {
    if (call.logged_in()) d_.audit.Record("logout", call.address(), call.ip);
    if (auto s = d_.sessions.Destroy(*call.session); !s.ok()) {
      return Info(call, "error_title", "error_text", 503, false);
    }
  }
  call.res.set_header("Set-Cookie", Sessions::ClearCookieHeader());
  Redirect(call, "/login?n=logged_out");
}

void PortalWeb::ResetRequestPage(Call& call) {
  if (!EnsureSession(call).ok()) return Info(call, "error_title", "error_text", 503, false);
  mustache::data data;
  data.set("title", Text(call, "reset_title"));
  Render(call, "reset_request", data);
}

void PortalWeb::ResetRequestSubmit(Call& call) {
  d_.accounts.RequestReset(call.Param("address"), call.ip, call.lang);
  Info(call, "reset_sent_title", "reset_sent", 200, true);
}

void PortalWeb::ResetPage(Call& call) {
  const std::string token = call.Match(1);
  auto link = OpenLink(call, pb::LinkToken::PURPOSE_RESET);
  if (!link) return;
  if (!call.session->stored || call.session->data.brand() != call.brand) {
    // Pre-login sessions are stored only when they carry something: here
    // the brand of the form's answer (a valid reset link, not any GET).
    call.session->data.set_brand(call.brand);
    if (!d_.sessions.Save(*call.session).ok()) {
      return Info(call, "error_title", "error_text", 503, false);
    }
  }
  PasswordForm(call, token, *link, "", 200);
}

void PortalWeb::ResetSubmit(Call& call) {
  auto answer = d_.accounts.Reset(call.Match(1), call.Param("password"), call.Param("password2"),
                                  call.Param("code"), call.ip);
  PasswordSubmitted(call, answer, pb::LinkToken::PURPOSE_RESET);
}

}  // namespace sg::portal
