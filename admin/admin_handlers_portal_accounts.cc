// Recipients' portal accounts over REST (docs/admin-api.md "Portal
// accounts"): what the portal keeps about one (GET), ending every session
// of it (POST .../logout) and lifting its login lock (POST .../unlock),
// through PortalAdminApi (admin_portal.h). Never a password hash, a TOTP
// secret or certificate bytes: the portal does not send them.
//
// Scope as for the portal's messages (admin_handlers_portal.cc): a super
// token reaches every account; any other token only a recipient of at least
// one stored message sent from its tenants' domains, and then counts only
// those messages. A recipient outside the scope answers the same 404 as one
// the portal does not know (no existence leak); the account's first domain
// is shown only when the caller may see that domain. Logout and unlock are
// not destructive, so a tenant admin may use them for its own recipients
// (deleting the account stays super-only: DELETE ...?account=true).
//
// Every POST is audited by the REST API (AdminApi/...) and in the portal's
// own log (admin_logout, admin_unlock).
#include <algorithm>

#include "admin/admin_handlers.h"

namespace sg::admin {
namespace {

// Seconds since the epoch, null for 0 ("never").
Json Seconds(int64_t ms) { return ms == 0 ? Json(nullptr) : Json(ms / 1000); }

Json ToJson(const portalpb::AccountInfo& a, const std::optional<std::vector<std::string>>& scope) {
  const bool show_domain =
      !scope || std::find(scope->begin(), scope->end(), a.domain()) != scope->end();
  return {{"recipient", a.address()},
          {"account", a.exists()},
          {"created_at", Seconds(a.created_ms())},
          {"password_changed_at", Seconds(a.password_changed_ms())},
          {"last_login_at", Seconds(a.last_login_ms())},
          {"totp", a.totp()},
          {"certificate", a.certificate()},
          {"language", a.language()},
          {"domain", show_domain ? a.domain() : ""},
          {"locked", a.locked()},
          {"locked_until", Seconds(a.locked() ? a.locked_until_ms() : 0)},
          {"failed_logins", a.failed_logins()},
          {"failed_totp_codes", a.failed_totp_codes()},
          {"messages", a.messages()}};
}

using AccountCall =
    Result<portalpb::AccountInfo> (PortalAdminApi::*)(const portalpb::AccountRequest&);

// The one shape of the three routes: scope, ask the portal, answer.
Answer Run(Call& c, AccountCall call) {
  if (c.portal == nullptr) return NoPortal();
  const std::string& recipient = c.params[0];
  auto scope = PortalScopeDomains(c);
  if (!scope.ok()) return ErrorAnswer(scope.error());
  if (*scope && (*scope)->empty()) return NotFound("portal recipient", recipient);
  portalpb::AccountRequest req;
  req.set_recipient(recipient);
  if (*scope) {
    for (const auto& d : **scope) req.add_sender_domains(d);
  }
  auto info = (c.portal->*call)(req);
  if (!info.ok()) {
    // The portal's "not found" has one body whatever the reason.
    if (info.error().code == ErrorCode::kNotFound && *scope) {
      return NotFound("portal recipient", recipient);
    }
    return ErrorAnswer(info.error());
  }
  return {200, ToJson(*info, *scope)};
}

}  // namespace

// GET /v1/portal/recipients/{recipient}
Answer ShowPortalAccount(Call& c) { return Run(c, &PortalAdminApi::AccountShow); }

// POST /v1/portal/recipients/{recipient}/logout
Answer LogoutPortalAccount(Call& c) { return Run(c, &PortalAdminApi::AccountLogout); }

// POST /v1/portal/recipients/{recipient}/unlock
Answer UnlockPortalAccount(Call& c) { return Run(c, &PortalAdminApi::AccountUnlock); }

}  // namespace sg::admin
