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

Sessions::Sessions(PortalStore& store, const Clock& clock, std::chrono::milliseconds idle,
                   std::chrono::milliseconds absolute)
    : store_(store), clock_(clock), idle_(idle), absolute_(absolute),
      csrf_key_(RandomBytes(32)) {}

LiveSession Sessions::PreLogin(const std::string& id, const std::string& brand) const {
  LiveSession s{id, {}, /*stored=*/false};
  const int64_t now = clock_.NowMs();
  s.data.set_csrf(UrlSafeText(Hmac("SHA256", csrf_key_, "csrf:" + id)));
  s.data.set_created_ms(now);
  s.data.set_last_seen_ms(now);
  s.data.set_brand(brand);
  return s;
}

Result<bool> Sessions::AccountAllows(const pb::Session& session) {
  if (session.address().empty()) return true;
  SG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(session.address()));
  return account && account->session_generation() == session.account_generation() &&
         session.created_ms() >= account->created_ms();
}

Result<std::optional<LiveSession>> Sessions::Load(const std::string& id) {
  if (!WellFormed(id)) return std::optional<LiveSession>();
  const std::string hash = Sha256(id);
  SG_ASSIGN_OR_RETURN(auto s, store_.GetSession(hash));
  if (!s) return std::optional<LiveSession>(PreLogin(id, {}));
  const int64_t now = clock_.NowMs();
  bool live = now - s->last_seen_ms() < idle_.count() && now - s->created_ms() < absolute_.count();
  if (live) {
    SG_ASSIGN_OR_RETURN(live, AccountAllows(*s));
  }
  if (!live) {
    SG_RETURN_IF_ERROR(store_.DeleteSession(hash));
    return std::optional<LiveSession>();
  }
  return std::optional<LiveSession>(LiveSession{id, std::move(*s), true});
}

Result<LiveSession> Sessions::Create(const std::string& brand) { return PreLogin(NewId(), brand); }

Result<LiveSession> Sessions::Rotate(const LiveSession& old, const std::string& address,
                                     bool totp_pending, int64_t generation) {
  SG_RETURN_IF_ERROR(Destroy(old));
  LiveSession s{NewId(), {}, true};
  const int64_t now = clock_.NowMs();
  s.data.set_address(address);
  s.data.set_totp_pending(totp_pending);
  s.data.set_csrf(UrlSafeText(RandomBytes(32)));
  s.data.set_created_ms(now);
  s.data.set_last_seen_ms(now);
  s.data.set_brand(old.data.brand());
  s.data.set_after_login(old.data.after_login());
  s.data.set_account_generation(generation);
  SG_RETURN_IF_ERROR(store_.PutSession(Sha256(s.id), s.data));
  return s;
}

Status Sessions::Save(LiveSession& session, bool force) {
  const int64_t now = clock_.NowMs();
  if (!force && now - session.data.last_seen_ms() < 60000) return OkStatus();
  session.data.set_last_seen_ms(now);
  if (!session.stored) {
    SG_RETURN_IF_ERROR(store_.PutSession(Sha256(session.id), session.data));
    session.stored = true;
    return OkStatus();
  }
  // A session deleted meanwhile (logout, timeout) stays deleted.
  SG_ASSIGN_OR_RETURN(bool updated, store_.UpdateSession(Sha256(session.id), session.data));
  (void)updated;
  return OkStatus();
}

Status Sessions::Destroy(const LiveSession& session) {
  if (!session.stored) return OkStatus();
  return store_.DeleteSession(Sha256(session.id));
}

std::string Sessions::CookieHeader(const std::string& id) {
  return std::string(kCookie) + "=" + id + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

std::string Sessions::ClearCookieHeader() {
  return std::string(kCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";
}

}  // namespace sg::portal
