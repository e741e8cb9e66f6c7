#include "portal/portal_sessions.h"

#include <cctype>

#include "portal/portal_crypto.h"

namespace sg::portal {
namespace {

bool WellFormed(const std::string& id) {
  if (id.size() != 43) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string NewId() { return UrlSafeText(RandomBytes(32)); }

}  // namespace

Result<std::optional<LiveSession>> Sessions::Load(const std::string& id) {
  if (!WellFormed(id)) return std::optional<LiveSession>();
  const std::string hash = Sha256(id);
  SG_ASSIGN_OR_RETURN(auto s, store_.GetSession(hash));
  if (!s) return std::optional<LiveSession>();
  const int64_t now = clock_.NowMs();
  if (now - s->last_seen_ms() >= idle_.count() || now - s->created_ms() >= absolute_.count()) {
    SG_RETURN_IF_ERROR(store_.DeleteSession(hash));
    return std::optional<LiveSession>();
  }
  return std::optional<LiveSession>(LiveSession{id, std::move(*s)});
}

Result<LiveSession> Sessions::Create(const std::string& brand) {
  LiveSession s{NewId(), {}};
  const int64_t now = clock_.NowMs();
  s.data.set_csrf(UrlSafeText(RandomBytes(32)));
  s.data.set_created_ms(now);
  s.data.set_last_seen_ms(now);
  s.data.set_brand(brand);
  SG_RETURN_IF_ERROR(store_.PutSession(Sha256(s.id), s.data));
  return s;
}

Result<LiveSession> Sessions::Rotate(const LiveSession& old, const std::string& address,
                                     bool totp_pending) {
  SG_RETURN_IF_ERROR(Destroy(old));
  LiveSession s{NewId(), {}};
  const int64_t now = clock_.NowMs();
  s.data.set_address(address);
  s.data.set_totp_pending(totp_pending);
  s.data.set_csrf(UrlSafeText(RandomBytes(32)));
  s.data.set_created_ms(now);
  s.data.set_last_seen_ms(now);
  s.data.set_brand(old.data.brand());
  s.data.set_after_login(old.data.after_login());
  SG_RETURN_IF_ERROR(store_.PutSession(Sha256(s.id), s.data));
  return s;
}

Status Sessions::Save(LiveSession& session, bool force) {
  const int64_t now = clock_.NowMs();
  if (!force && now - session.data.last_seen_ms() < 60000) return OkStatus();
  session.data.set_last_seen_ms(now);
  return store_.PutSession(Sha256(session.id), session.data);
}

Status Sessions::Destroy(const LiveSession& session) {
  return store_.DeleteSession(Sha256(session.id));
}

std::string Sessions::CookieHeader(const std::string& id) {
  return std::string(kCookie) + "=" + id + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

std::string Sessions::ClearCookieHeader() {
  return std::string(kCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";
}

}  // namespace sg::portal
