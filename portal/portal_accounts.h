// Recipients' accounts, independent of HTTP (docs/portal.md "Accounts"):
// registration through a message link, login with address and password
// (Argon2id), the optional TOTP step, password reset through a new link,
// and turning TOTP on and off.
//
// What a caller can learn is the same for known and unknown addresses:
// a wrong password and an unknown address give the same answer after the
// same Argon2id work, both count towards the lockout, and a reset request
// always gets the same answer while the mail (only for a known address) is
// written on a background thread.
//
// Errors: Result errors are storage or queue failures (the page says "try
// again later"); everything a user did wrong is an Answer.
//
// Lockout: a password step that is right but leaves the TOTP code due is not
// a success for the limiter; only the whole login is (portal_limiter.h).
//
// Threading: thread-safe. Start/Stop from the owning service. Reset mails go
// out on one background thread; an exception in one is logged and counted,
// never ends the thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "portal/portal_audit.h"
#include "common/clock.h"
#include "portal/portal_config.h"
#include "portal/portal_limiter.h"
#include "portal/portal_links.h"
#include "portal/portal_mailer.h"
#include "portal/portal_metrics.h"
#include "portal/portal_password.h"
#include "portal/portal_vault.h"

namespace sg::portal {

class Accounts {
 public:
  enum class Outcome {
    kOk,
    kTotpRequired,  // password right, the TOTP code is still due
    kWrong,         // address/password, TOTP code or registration code wrong
    kLocked,        // too many failures for the address or the client
    kLinkInvalid,   // used, expired, unknown, or not for this purpose
    kRefused,       // the new password is refused: message_key says why
  };
  struct Answer {
    Outcome outcome = Outcome::kWrong;
    std::string message_key;  // a strings/<lang>.json key for the page
    std::string address;      // whose account (on success)
    std::string message_id;   // the portal message the link led to
    // On success: the session_generation of the account record that was
    // checked; the session made from this answer carries it, so a reset
    // that committed meanwhile ends that session too.
    int64_t generation = 0;
  };

  Accounts(const PortalConfig& config, PortalVault& vault, const PasswordHasher& hasher,
           LoginLimiter& limiter, Links& links, Mailer& mailer, Audit& audit,
           PortalMetrics& metrics, const Clock& clock);
  ~Accounts();

  Result<Answer> Login(const std::string& address, const std::string& password,
                       const std::string& ip);
  Result<Answer> CompleteTotp(const std::string& address, const std::string& code,
                              const std::string& ip);
  Result<Answer> Register(const std::string& token, const std::string& password,
                          const std::string& password2, const std::string& code,
                          const std::string& ip);
  // Always the same for the caller; the mail goes out in the background.
  void RequestReset(const std::string& address, const std::string& ip, const std::string& lang);
  Result<Answer> Reset(const std::string& token, const std::string& password,
                       const std::string& password2, const std::string& totp_code,
                       const std::string& ip);

  // TOTP: a new random secret (20 bytes); turning it on needs the current
  // password and the first right code and is refused while a secret is set
  // (kRefused "totp_already_on": turn it off first); turning it off needs a
  // current code. A password reset and both TOTP changes raise the
  // account's session_generation, which ends every other session
  // (portal_sessions.h); the caller rotates its own session.
  static std::string NewTotpSecret();
  Result<Answer> EnableTotp(const std::string& address, const std::string& secret,
                            const std::string& code, const std::string& password,
                            const std::string& ip);
  Result<Answer> DisableTotp(const std::string& address, const std::string& code,
                             const std::string& ip);

  // The reader's settings (portal_web_settings.cc), changed on the current
  // record: a reset or a purge that landed meanwhile stays (kNotFound when
  // the account is gone). An empty `der` removes the certificate.
  Status SetLanguage(const std::string& address, const std::string& language);
  Status SetCertificate(const std::string& address, const std::string& der);

  // Replies: true when `address` may send one more now (a token bucket per
  // account, portal_limiter.h); a refusal is counted (refused{why="rate"}).
  bool AllowReply(const std::string& address);

  // Waits for queued reset mails (tests, shutdown).
  void Drain();

 private:
  Result<Answer> CheckNewPassword(const std::string& address, const std::string& password,
                                  const std::string& password2);
  Result<bool> TotpMatches(pb::Account& account, const std::string& code);
  // A wrong TOTP code: counted apart from passwords, audited as `what`.
  Result<Answer> TotpRefused(const std::string& address, const std::string& ip,
                             const std::string& what);
  static void EndOtherSessions(pb::Account& account);
  // Stores the time of a whole login (Account.last_login_ms); a store error
  // is logged, the login stands.
  void RecordLogin(const std::string& address);
  void Background(std::function<void()> task);
  void RunBackground();
  void RunGuarded(const std::function<void()>& task);

  const PortalConfig& config_;
  PortalVault& vault_;
  PortalStore& store_;
  const PasswordHasher& hasher_;
  LoginLimiter& limiter_;
  Links& links_;
  Mailer& mailer_;
  Audit& audit_;
  PortalMetrics& metrics_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

// The AAD of an account's sealed TOTP secret.
std::string TotpAad(const std::string& address);

}  // namespace sg::portal
