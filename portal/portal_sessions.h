// Browser sessions (docs/portal.md "Web security"): a random 256-bit id in
// the cookie __Host-sg_session (Secure, HttpOnly, SameSite=Strict, Path=/,
// no Domain: the __Host- prefix makes the browser enforce all of that), the
// record stored under the id's SHA-256. Every session, also before login,
// carries a CSRF token that every state-changing form must return.
//
//   - rotation: a login (and a registration or reset) always starts a new
//     session id; the old one is deleted, so a fixed id is worth nothing;
//   - idle timeout: a session unused for session.idle_timeout is gone;
//   - absolute timeout: any session is gone session.absolute_timeout after
//     it started, used or not;
//   - account changes: a session carries the account's session_generation
//     from its login; a password reset and turning TOTP on or off raise it,
//     so every other session of that account is logged out at its next
//     request (deleted); so is a session whose account is gone (an admin
//     purge) or newer than the session (purged and registered again);
//   - no record before login: a session without a user is not stored. Its
//     CSRF token is an HMAC of the cookie value under a key of this process,
//     so an anonymous GET costs no write; it is stored on the first Save
//     (a message link remembers the message to open). A restart (a new key)
//     makes an open login form answer "form expired" once;
//   - a logout (or timeout) is final: Save only replaces a record that
//     still exists, so a request still running cannot bring it back.
//
// Threading: thread-safe (the store is).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/clock.h"
#include "portal/portal_store.h"

namespace sg::portal {

struct LiveSession {
  std::string id;  // the cookie value
  pb::Session data;
  bool stored = true;  // false: a pre-login session not written yet
  bool logged_in() const { return !data.address().empty() && !data.totp_pending(); }
};

class Sessions {
 public:
  static constexpr const char* kCookie = "__Host-sg_session";

  Sessions(PortalStore& store, const Clock& clock, std::chrono::milliseconds idle,
           std::chrono::milliseconds absolute);

  // The live session of this cookie value: the stored one, or a pre-login
  // session (not stored) for a well-formed value that has no record;
  // nullopt for a malformed value and for a session that timed out or was
  // ended by its account (see above; the record is deleted).
  Result<std::optional<LiveSession>> Load(const std::string& id);
  // A new session without a user (for the CSRF token of login forms); not
  // stored until Save.
  Result<LiveSession> Create(const std::string& brand);
  // A new id for a session whose user changes (login, registration): the
  // old record is deleted; brand and the message to open are kept.
  // `generation` is the session_generation of the account record whose
  // password (or code) was checked (Accounts::Answer::generation), not the
  // current one: a reset that committed after that check ends this session.
  Result<LiveSession> Rotate(const LiveSession& old, const std::string& address,
                             bool totp_pending, int64_t generation);
  // Writes changed fields (and last_seen, at most once a minute unless
  // `force`). A pre-login session is stored now; a stored one only while
  // its record exists (a session ended meanwhile stays ended).
  Status Save(LiveSession& session, bool force = true);
  Status Destroy(const LiveSession& session);

  // "__Host-sg_session=<id>; Path=/; Secure; HttpOnly; SameSite=Strict"
  static std::string CookieHeader(const std::string& id);
  static std::string ClearCookieHeader();

 private:
  LiveSession PreLogin(const std::string& id, const std::string& brand) const;
  // Whether a stored session with a user still belongs to its account.
  Result<bool> AccountAllows(const pb::Session& session);

  PortalStore& store_;
  const Clock& clock_;
  std::chrono::milliseconds idle_;
  std::chrono::milliseconds absolute_;
  const std::string csrf_key_;  // random per process
};

}  // namespace sg::portal
