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
//     it started, used or not.
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
  bool logged_in() const { return !data.address().empty() && !data.totp_pending(); }
};

class Sessions {
 public:
  static constexpr const char* kCookie = "__Host-sg_session";

  Sessions(PortalStore& store, const Clock& clock, std::chrono::milliseconds idle,
           std::chrono::milliseconds absolute)
      : store_(store), clock_(clock), idle_(idle), absolute_(absolute) {}

  // The live session of this cookie value; nullopt when unknown or timed
  // out (a timed-out one is deleted).
  Result<std::optional<LiveSession>> Load(const std::string& id);
  // A new session without a user (for the CSRF token of login forms).
  Result<LiveSession> Create(const std::string& brand);
  // A new id for a session whose user changes (login, registration): the
  // old record is deleted; brand and the message to open are kept.
  Result<LiveSession> Rotate(const LiveSession& old, const std::string& address,
                             bool totp_pending);
  // Writes changed fields (and last_seen, at most once a minute unless
  // `force`).
  Status Save(LiveSession& session, bool force = true);
  Status Destroy(const LiveSession& session);

  // "__Host-sg_session=<id>; Path=/; Secure; HttpOnly; SameSite=Strict"
  static std::string CookieHeader(const std::string& id);
  static std::string ClearCookieHeader();

 private:
  PortalStore& store_;
  const Clock& clock_;
  std::chrono::milliseconds idle_;
  std::chrono::milliseconds absolute_;
};

}  // namespace sg::portal
