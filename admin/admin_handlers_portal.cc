// The web-encryption portal's stored messages over REST (docs/admin-api.md
// "Portal"): list, purge (one message, a recipient's, the expired ones) and
// resend a message's link, through PortalAdminApi (admin_portal.h).
//
// Scope: a portal message belongs to the tenant of the hosted domain it was
// sent from (its sender_domain). A super token sees every message; any
// other token only those sent from its tenants' domains: the portal filters
// the list by those domains, and a message outside them answers the same
// 404 as one that does not exist. Purging the expired messages of everyone
// and deleting a recipient's portal account (shared by every tenant that
// mails the recipient) are for super tokens only (403).
//
// No portal (not configured, or not answering): 503 with the fix.
#include "admin/admin_handlers.h"

namespace sg::admin {

Answer NoPortal() {
  return ErrorAnswer(503, "unavailable",
                     "the portal is not configured here; fix: portal.enabled: true in "
                     "`smimegate run`, or keyservice.admin_api.portal.endpoint (the portal's "
                     "portal.admin.listen) in the distributed mode");
}

Result<std::optional<std::vector<std::string>>> PortalScopeDomains(Call& c) {
  using Out = std::optional<std::vector<std::string>>;
  if (c.access.scope().is_super()) return Out();
  SG_ASSIGN_OR_RETURN(auto hosted, c.d.service.TenantDomains());
  std::vector<std::string> out;
  for (const auto& d : hosted) {
    SG_ASSIGN_OR_RETURN(bool visible, c.access.Tenant(d.tenant));
    if (visible) out.push_back(d.name);
  }
  return Out(std::move(out));
}

namespace {

constexpr uint32_t kPage = 1000;  // messages per List while purging a recipient

// A List request limited to the caller's domains; false when the caller
// has no domain at all (nothing to ask).
Result<bool> Scoped(Call& c, portalpb::ListRequest& req) {
  SG_ASSIGN_OR_RETURN(auto domains, PortalScopeDomains(c));
  if (!domains) return true;
  if (domains->empty()) return false;
  for (auto& d : *domains) req.add_sender_domains(std::move(d));
  return true;
}

// Whether the caller may act on the message (super: always; the portal
// answers for a missing one).
Result<bool> Visible(Call& c, const std::string& recipient, const std::string& id) {
  if (c.access.scope().is_super()) return true;
  portalpb::ListRequest req;
  req.set_recipient(recipient);
  req.set_limit(kPage);
  SG_ASSIGN_OR_RETURN(bool any, Scoped(c, req));
  if (!any) return false;
  // The portal answers at most kPage messages of one recipient per call; a
  // recipient with more in the caller's scope is searched in the newest kPage.
  SG_ASSIGN_OR_RETURN(auto list, c.portal->List(req));
  for (const auto& m : list.messages()) {
    if (m.id() == id) return true;
  }
  return false;
}

// A missing message (also from the portal itself) answers like one outside the scope.
Answer MessageError(const Error& e, const std::string& recipient, const std::string& id) {
  if (e.code == ErrorCode::kNotFound) return NotFound("portal message", recipient + "/" + id);
  return ErrorAnswer(e);
}

Json ToJson(const portalpb::ListedMessage& m) {
  return {{"recipient", m.recipient()},
          {"id", m.id()},
          {"sender", m.sender()},
          {"sender_domain", m.sender_domain()},
          {"stored_at", m.stored_at_ms() / 1000},
          {"expires_at", m.expires_at_ms() / 1000},
          {"size", m.size()},
          {"read", m.read()},
          {"notified", m.notified()},
          {"queue_message_id", m.queue_message_id()}};
}

}  // namespace

// GET /v1/portal/messages?recipient=&domain=&limit=
Answer ListPortalMessages(Call& c) {
  if (c.portal == nullptr) return NoPortal();
  auto limit = ParseLimit(c.Query("limit"));
  if (!limit.ok()) return ErrorAnswer(limit.error());
  portalpb::ListRequest req;
  req.set_recipient(c.Query("recipient"));
  req.set_limit(*limit);
  const std::string domain = c.Query("domain");
  if (!domain.empty() && !c.access.scope().is_super()) {
    if (auto hidden = Hidden(c.access.Domain(domain), "domain", domain)) return *hidden;
  }
  req.set_domain(domain);
  Json out = Json::array();
  auto any = Scoped(c, req);
  if (!any.ok()) return ErrorAnswer(any.error());
  if (!*any) return {200, Json{{"messages", out}, {"truncated", false}}};
  auto list = c.portal->List(req);
  if (!list.ok()) return ErrorAnswer(list.error());
  for (const auto& m : list->messages()) out.push_back(ToJson(m));
  return {200, Json{{"messages", out}, {"truncated", list->truncated()}}};
}

// DELETE /v1/portal/messages/{recipient}/{id}
Answer PurgePortalMessage(Call& c) {
  if (c.portal == nullptr) return NoPortal();
  const std::string& recipient = c.params[0];
  const std::string& id = c.params[1];
  auto visible = Visible(c, recipient, id);
  if (!visible.ok()) return MessageError(visible.error(), recipient, id);
  if (!*visible) return NotFound("portal message", recipient + "/" + id);
  portalpb::PurgeRequest req;
  req.set_recipient(recipient);
  req.set_id(id);
  auto purged = c.portal->Purge(req);
  if (!purged.ok()) return MessageError(purged.error(), recipient, id);
  return {200, Json{{"recipient", recipient}, {"id", id}, {"messages", purged->messages()}}};
}

// DELETE /v1/portal/recipients/{recipient}[?account=true]: the recipient's
// messages in the caller's scope; account=true (super only) also deletes the
// recipient's portal account.
Answer PurgePortalRecipient(Call& c) {
  if (c.portal == nullptr) return NoPortal();
  const std::string& recipient = c.params[0];
  const std::string account = c.Query("account");
  if (!account.empty() && account != "true" && account != "false") {
    return ErrorAnswer(400, "invalid_argument", "\"account\" must be true or false");
  }
  const bool super = c.access.scope().is_super();
  if (account == "true" && !super) {
    return Forbidden(
        "a portal account serves every tenant that mails the recipient: only a "
        "super token may delete it");
  }
  if (super) {
    portalpb::PurgeRequest req;
    req.set_recipient(recipient);
    req.set_account(account == "true");
    auto purged = c.portal->Purge(req);
    if (!purged.ok()) return ErrorAnswer(purged.error());
    return {200, Json{{"recipient", recipient},
                      {"messages", purged->messages()},
                      {"account_deleted", purged->account_deleted()}}};
  }
  // One message at a time: only those sent from the caller's domains.
  uint32_t purged = 0;
  while (true) {
    portalpb::ListRequest list_req;
    list_req.set_recipient(recipient);
    list_req.set_limit(kPage);
    auto any = Scoped(c, list_req);
    if (!any.ok()) return ErrorAnswer(any.error());
    if (!*any) break;
    auto list = c.portal->List(list_req);
    if (!list.ok()) return ErrorAnswer(list.error());
    for (const auto& m : list->messages()) {
      portalpb::PurgeRequest req;
      req.set_recipient(m.recipient());
      req.set_id(m.id());
      auto one = c.portal->Purge(req);
      if (!one.ok() && one.error().code != ErrorCode::kNotFound) return ErrorAnswer(one.error());
      if (one.ok()) purged += one->messages();
    }
    if (!list->truncated()) break;
  }
  return {200, Json{{"recipient", recipient}, {"messages", purged}, {"account_deleted", false}}};
}

// POST /v1/portal/purge-expired: the expiry now, for every tenant (super only).
Answer PurgePortalExpired(Call& c) {
  if (!c.access.scope().is_super()) {
    return Forbidden(
        "the expiry runs over every tenant's messages: only a super token may "
        "start it (it runs every minute anyway)");
  }
  if (c.portal == nullptr) return NoPortal();
  portalpb::PurgeRequest req;
  req.set_expired(true);
  auto purged = c.portal->Purge(req);
  if (!purged.ok()) return ErrorAnswer(purged.error());
  return {200, Json{{"messages", purged->messages()}}};
}

// POST /v1/portal/messages/{recipient}/{id}/resend-link: a new notification
// with a new one-time link.
Answer ResendPortalLink(Call& c) {
  if (c.portal == nullptr) return NoPortal();
  const std::string& recipient = c.params[0];
  const std::string& id = c.params[1];
  auto visible = Visible(c, recipient, id);
  if (!visible.ok()) return MessageError(visible.error(), recipient, id);
  if (!*visible) return NotFound("portal message", recipient + "/" + id);
  portalpb::ResendLinkRequest req;
  req.set_recipient(recipient);
  req.set_id(id);
  auto sent = c.portal->ResendLink(req);
  if (!sent.ok()) return MessageError(sent.error(), recipient, id);
  return {200, Json{{"recipient", recipient},
                    {"id", sent->id()},
                    {"expires_at", sent->expires_ms() / 1000}}};
}

}  // namespace sg::admin
