#include "portal/portal_accounts.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "portal/portal_crypto.h"
#include "portal/portal_intake.h"
#include "portal/portal_totp.h"

namespace sg::portal {

std::string TotpAad(const std::string& address) { return "totp:" + address; }

Accounts::Accounts(const PortalConfig& config, PortalVault& vault, const PasswordHasher& hasher,
                   LoginLimiter& limiter, Links& links, Mailer& mailer, Audit& audit,
                   PortalMetrics& metrics, const Clock& clock)
    : config_(config), vault_(vault), store_(vault.store()), hasher_(hasher), limiter_(limiter),
      links_(links), mailer_(mailer), audit_(audit), metrics_(metrics), clock_(clock) {
  worker_ = std::thread([this] { RunBackground(); });
}

Accounts::~Accounts() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Accounts::Background(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.size() >= 1000) {
      spdlog::warn("portal: reset mail queue full; a reset request was dropped");
      return;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_all();
}

void Accounts::RunBackground() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping and nothing left
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    ++running_;
    lock.unlock();
    RunGuarded(task);
    lock.lock();
    --running_;
    cv_.notify_all();
  }
}

void Accounts::RunGuarded(const std::function<void()>& task) {
  // An exception must not end the thread (and with it the process): the
  // task is one reset mail; it is logged, counted and dropped.
  try {
    task();
  } catch (const std::exception& e) {
    metrics_.background_errors.Inc();
    spdlog::error("portal: reset mail task failed: {}", e.what());
  } catch (...) {
    metrics_.background_errors.Inc();
    spdlog::error("portal: reset mail task failed: unknown exception");
  }
}

void Accounts::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return tasks_.empty() && running_ == 0; });
}

Result<Accounts::Answer> Accounts::Login(const std::string& raw_address,
                                         const std::string& password, const std::string& ip) {
  const std::string address = NormalizeRecipient(raw_address);
  if (limiter_.Check(address, ip) != LoginLimiter::Verdict::kAllowed) {
    // Counted, not audited: the lock itself was audited once, and a client
    // that keeps trying must not cost a store write per request.
    metrics_.logins.WithLabels({"locked"}).Inc();
    return Answer{Outcome::kLocked, "error_locked", {}, {}};
  }
  SG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(address));
  bool ok = false;
  if (account) {
    SG_ASSIGN_OR_RETURN(ok, hasher_.Verify(account->password_hash(), password));
  } else {
    SG_RETURN_IF_ERROR(hasher_.VerifyDummy(password));  // the same work for an unknown address
  }
  if (!ok) {
    const bool locked = limiter_.Failure(address, ip);
    metrics_.logins.WithLabels({"failed"}).Inc();
    audit_.Record("login_failed", address, ip, {}, locked ? "now locked" : "");
    return Answer{Outcome::kWrong, "error_login", {}, {}};
  }
  if (!account->sealed_totp_secret().empty()) {
    // Not a success yet: the counts stand until the TOTP code is right too.
    return Answer{Outcome::kTotpRequired, {}, address, {}, account->session_generation()};
  }
  limiter_.Success(address);
  metrics_.logins.WithLabels({"ok"}).Inc();
  audit_.Record("login", address, ip);
  RecordLogin(address);
  return Answer{Outcome::kOk, {}, address, {}, account->session_generation()};
}

void Accounts::RecordLogin(const std::string& address) {
  const int64_t now = clock_.NowMs();
  Status s = store_.UpdateAccount(address, [now](pb::Account& a) {
    a.set_last_login_ms(now);
    return OkStatus();
  });
  // Informational only (`portal account show`): the login itself stands.
  if (!s.ok() && s.error().code != ErrorCode::kNotFound) {
    spdlog::warn("portal: cannot record the login time of an account: {}", s.error().message);
  }
}

Result<bool> Accounts::TotpMatches(pb::Account& account, const std::string& code) {
  SG_ASSIGN_OR_RETURN(std::string secret,
                      vault_.OpenSecret(account.sealed_totp_secret(), TotpAad(account.address()),
                                        account.totp_key_id()));
  auto step = VerifyTotp(secret, code, clock_.NowMs() / 1000, account.last_totp_step());
  Wipe(secret);
  if (!step) return false;
  // Atomic in the store: of two requests with one code, one wins.
  SG_ASSIGN_OR_RETURN(bool advanced, store_.AdvanceTotpStep(account.address(), *step));
  if (!advanced) return false;
  account.set_last_totp_step(*step);
  return true;
}

Result<Accounts::Answer> Accounts::TotpRefused(const std::string& address, const std::string& ip,
                                               const std::string& what) {
  const bool locked = limiter_.TotpFailure(address, ip);
  metrics_.logins.WithLabels({"totp_failed"}).Inc();
  audit_.Record(what, address, ip, {}, locked ? "totp, now locked" : "totp");
  return Answer{Outcome::kWrong, "error_totp", {}, {}};
}

Result<Accounts::Answer> Accounts::CompleteTotp(const std::string& address,
                                                const std::string& code, const std::string& ip) {
  if (limiter_.Check(address, ip) != LoginLimiter::Verdict::kAllowed) {
    metrics_.logins.WithLabels({"locked"}).Inc();
    return Answer{Outcome::kLocked, "error_locked", {}, {}};
  }
  SG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(address));
  if (!account || account->sealed_totp_secret().empty()) {
    return Answer{Outcome::kWrong, "error_totp", {}, {}};
  }
  SG_ASSIGN_OR_RETURN(bool ok, TotpMatches(*account, code));
  if (!ok) return TotpRefused(address, ip, "login_failed");
  limiter_.Success(address);  // the whole login succeeded
  metrics_.logins.WithLabels({"ok"}).Inc();
  audit_.Record("login", address, ip, {}, "totp");
  RecordLogin(address);
  return Answer{Outcome::kOk, {}, address, {}, account->session_generation()};
}

Result<Accounts::Answer> Accounts::CheckNewPassword(const std::string& address,
                                                    const std::string& password,
                                                    const std::string& password2) {
  if (password != password2) return Answer{Outcome::kRefused, "error_password_mismatch", {}, {}};
  if (auto weak = CheckPasswordStrength(password, address, config_.min_password_length)) {
    return Answer{Outcome::kRefused, *weak, {}, {}};
  }
  return Answer{Outcome::kOk, {}, address, {}};
}

Result<Accounts::Answer> Accounts::Register(const std::string& token, const std::string& password,
                                            const std::string& password2, const std::string& code,
                                            const std::string& ip) {
  SG_ASSIGN_OR_RETURN(auto link, links_.Peek(token, pb::LinkToken::PURPOSE_MESSAGE));
  if (!link) {
    metrics_.refused.WithLabels({"link"}).Inc();
    return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  }
  const std::string& address = link->address();
  SG_ASSIGN_OR_RETURN(auto existing, store_.GetAccount(address));
  if (existing) return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  if (limiter_.Check(address, ip) != LoginLimiter::Verdict::kAllowed) {
    return Answer{Outcome::kLocked, "error_locked", {}, {}};
  }
  if (!link->code_hash().empty() && !Links::CodeMatches(*link, code)) {
    limiter_.Failure(address, ip);
    audit_.Record("register_failed", address, ip, link->message_id(), "registration code");
    return Answer{Outcome::kWrong, "error_code", {}, {}};
  }
  SG_ASSIGN_OR_RETURN(Answer check, CheckNewPassword(address, password, password2));
  if (check.outcome != Outcome::kOk) return check;
  // Hashed before the link is used up: a busy answer leaves it usable.
  SG_ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(password));
  SG_ASSIGN_OR_RETURN(bool consumed, links_.Consume(token));
  if (!consumed) return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  pb::Account account;
  account.set_address(address);
  account.set_password_hash(hash);
  account.set_created_ms(clock_.NowMs());
  account.set_password_changed_ms(clock_.NowMs());
  account.set_domain(link->domain());
  SG_ASSIGN_OR_RETURN(bool created, store_.CreateAccount(account));
  if (!created) return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  metrics_.registrations.Inc();
  audit_.Record("register", address, ip, link->message_id());
  return Answer{Outcome::kOk, "registered", address, link->message_id(),
                account.session_generation()};
}

void Accounts::RequestReset(const std::string& raw_address, const std::string& ip,
                            const std::string& lang) {
  const std::string address = NormalizeRecipient(raw_address);
  // Audited only when a mail goes out (a known address, at most once per
  // reset_interval), so repeated requests cost no store write.
  Background([this, address, ip, lang] {
    auto account = store_.GetAccount(address);
    if (!account.ok()) {
      spdlog::warn("portal: reset request: {}", account.error().ToString());
      return;
    }
    if (!account->has_value() || !limiter_.AllowResetMail(address)) return;
    audit_.Record("reset_requested", address, ip);
    const std::string domain = (*account)->domain();
    auto link = links_.IssueResetLink(address, domain, config_.reset_link_ttl.count());
    Status sent = link.ok() ? mailer_.SendReset(address, domain, *link,
                                                lang.empty() ? (*account)->language() : lang)
                            : Status(link.error());
    if (!sent.ok()) spdlog::warn("portal: reset mail to <{}>: {}", address, sent.error().ToString());
  });
}

Result<Accounts::Answer> Accounts::Reset(const std::string& token, const std::string& password,
                                         const std::string& password2,
                                         const std::string& totp_code, const std::string& ip) {
  SG_ASSIGN_OR_RETURN(auto link, links_.Peek(token, pb::LinkToken::PURPOSE_RESET));
  if (!link) {
    metrics_.refused.WithLabels({"link"}).Inc();
    return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  }
  const std::string& address = link->address();
  SG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(address));
  if (!account) return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  if (!account->sealed_totp_secret().empty()) {
    // A mailbox alone does not take over an account that has a second
    // factor: a locked address stays locked (the lock may come from TOTP
    // guesses), and wrong codes here count like those at login.
    if (limiter_.Check(address, ip) != LoginLimiter::Verdict::kAllowed) {
      metrics_.logins.WithLabels({"locked"}).Inc();
      return Answer{Outcome::kLocked, "error_locked", {}, {}};
    }
    SG_ASSIGN_OR_RETURN(bool ok, TotpMatches(*account, totp_code));
    if (!ok) return TotpRefused(address, ip, "reset_failed");
  }
  SG_ASSIGN_OR_RETURN(Answer check, CheckNewPassword(address, password, password2));
  if (check.outcome != Outcome::kOk) return check;
  SG_ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(password));
  SG_ASSIGN_OR_RETURN(bool consumed, links_.Consume(token));
  if (!consumed) return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  // On the current record: a purge meanwhile stays, other fields stay.
  int64_t generation = 0;
  Status stored = store_.UpdateAccount(address, [&](pb::Account& now) {
    now.set_password_hash(hash);
    now.set_password_changed_ms(clock_.NowMs());
    EndOtherSessions(now);
    generation = now.session_generation();
    return OkStatus();
  });
  if (!stored.ok() && stored.error().code == ErrorCode::kNotFound) {
    return Answer{Outcome::kLinkInvalid, "link_invalid", {}, {}};
  }
  SG_RETURN_IF_ERROR(stored);
  limiter_.Unlock(address);  // the mailbox (and the TOTP code, when due) proved
  audit_.Record("password_reset", address, ip);
  return Answer{Outcome::kOk, "password_changed", address, {}, generation};
}

std::string Accounts::NewTotpSecret() { return RandomBytes(20); }

Result<Accounts::Answer> Accounts::EnableTotp(const std::string& address,
                                              const std::string& secret, const std::string& code,
                                              const std::string& password, const std::string& ip) {
  SG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(address));
  if (!account) return Answer{Outcome::kWrong, "error_totp", {}, {}};
  // A secret in place is never replaced: it is turned off first, with a code.
  if (!account->sealed_totp_secret().empty()) {
    return Answer{Outcome::kRefused, "totp_already_on", {}, {}};
  }
  if (limiter_.Check(address, ip) != LoginLimiter::Verdict::kAllowed) {
    metrics_.logins.WithLabels({"locked"}).Inc();
    return Answer{Outcome::kLocked, "error_locked", {}, {}};
  }
  // A session alone does not turn it on: the current password is asked.
  SG_ASSIGN_OR_RETURN(bool password_ok, hasher_.Verify(account->password_hash(), password));
  if (!password_ok) {
    const bool locked = limiter_.Failure(address, ip);
    audit_.Record("totp_enable_failed", address, ip, {}, locked ? "password, now locked" : "password");
    return Answer{Outcome::kWrong, "error_password", {}, {}};
  }
  auto step = VerifyTotp(secret, code, clock_.NowMs() / 1000, -1);
  if (!step) return Answer{Outcome::kWrong, "error_totp", {}, {}};
  std::string key_id;
  const std::string sealed = vault_.SealSecret(secret, TotpAad(address), &key_id);
  int64_t generation = 0;
  Status stored = store_.UpdateAccount(address, [&](pb::Account& now) -> Status {
    if (!now.sealed_totp_secret().empty()) {
      return MakeError(ErrorCode::kAlreadyExists, "totp already on");  // another tab
    }
    now.set_sealed_totp_secret(sealed);
    now.set_totp_key_id(key_id);
    now.set_last_totp_step(std::max(now.last_totp_step(), *step));
    EndOtherSessions(now);
    generation = now.session_generation();
    return OkStatus();
  });
  if (!stored.ok() && stored.error().code == ErrorCode::kAlreadyExists) {
    return Answer{Outcome::kRefused, "totp_already_on", {}, {}};
  }
  if (!stored.ok() && stored.error().code == ErrorCode::kNotFound) {
    return Answer{Outcome::kWrong, "error_totp", {}, {}};
  }
  SG_RETURN_IF_ERROR(stored);
  audit_.Record("totp_enabled", address, ip);
  return Answer{Outcome::kOk, "totp_enabled", address, {}, generation};
}

Result<Accounts::Answer> Accounts::DisableTotp(const std::string& address, const std::string& code,
                                               const std::string& ip) {
  SG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(address));
  if (!account || account->sealed_totp_secret().empty()) {
    return Answer{Outcome::kOk, "totp_disabled", address, {},
                  account ? account->session_generation() : 0};
  }
  if (limiter_.Check(address, ip) != LoginLimiter::Verdict::kAllowed) {
    metrics_.logins.WithLabels({"locked"}).Inc();
    return Answer{Outcome::kLocked, "error_locked", {}, {}};
  }
  SG_ASSIGN_OR_RETURN(bool ok, TotpMatches(*account, code));
  if (!ok) return TotpRefused(address, ip, "totp_disable_failed");
  int64_t generation = 0;
  Status stored = store_.UpdateAccount(address, [&](pb::Account& now) {
    now.clear_sealed_totp_secret();
    now.clear_totp_key_id();
    EndOtherSessions(now);
    generation = now.session_generation();
    return OkStatus();
  });
  if (!stored.ok() && stored.error().code == ErrorCode::kNotFound) {
    return Answer{Outcome::kOk, "totp_disabled", address, {}};  // purged meanwhile
  }
  SG_RETURN_IF_ERROR(stored);
  audit_.Record("totp_disabled", address, ip);
  return Answer{Outcome::kOk, "totp_disabled", address, {}, generation};
}

Status Accounts::SetLanguage(const std::string& address, const std::string& language) {
  return store_.UpdateAccount(address, [&](pb::Account& account) {
    account.set_language(language);
    return OkStatus();
  });
}

Status Accounts::SetCertificate(const std::string& address, const std::string& der) {
  return store_.UpdateAccount(address, [&](pb::Account& account) {
    account.set_certificate_der(der);
    return OkStatus();
  });
}

void Accounts::EndOtherSessions(pb::Account& account) {
  account.set_session_generation(account.session_generation() + 1);
}

bool Accounts::AllowReply(const std::string& address) {
  if (limiter_.AllowReply(address)) return true;
  metrics_.refused.WithLabels({"rate"}).Inc();
  return false;
}

}  // namespace sg::portal
