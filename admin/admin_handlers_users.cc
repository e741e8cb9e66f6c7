// Users and their keys (docs/admin-api.md "Users" and "Keys"). A user
// belongs to the tenant of its address's domain.
#include "admin/admin_handlers.h"
#include "common/mail/address.h"

namespace sg::admin {
namespace {

// The registered user `address`, when its domain is in scope.
Result<std::optional<keyservice::User>> FindUser(Call& c, const std::string& address) {
  SG_ASSIGN_OR_RETURN(bool visible, c.access.Address(address));
  if (!visible) return std::optional<keyservice::User>();
  auto normal = mail::NormalizeAddress(address);
  if (!normal.ok()) return std::optional<keyservice::User>();
  SG_ASSIGN_OR_RETURN(auto users, c.d.keys.ListUsers(mail::DomainOf(*normal)));
  for (auto& u : users) {
    if (u.address == *normal) return std::optional<keyservice::User>(std::move(u));
  }
  return std::optional<keyservice::User>();
}

// Sets a registered user's participation; 404 like absent outside the scope.
Answer SetParticipating(Call& c, bool participating) {
  const std::string& address = c.params[0];
  auto user = FindUser(c, address);
  if (!user.ok()) return ErrorAnswer(user.error());
  if (!*user) return NotFound("user", address);
  keyservice::User u = **user;
  u.participating = participating;
  auto put = c.d.keys.PutUsers({u});
  if (!put.ok()) return ErrorAnswer(put.error());
  return {200, ToJson(u)};
}

}  // namespace

Answer ListUsers(Call& c) {
  const std::string domain = c.Query("domain");
  if (!domain.empty()) {
    if (auto hidden = Hidden(c.access.Domain(domain), "domain", domain)) return *hidden;
  }
  auto users = c.d.keys.ListUsers(domain);
  if (!users.ok()) return ErrorAnswer(users.error());
  Json out = Json::array();
  for (const auto& u : *users) {
    auto visible = c.access.Address(u.address);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (*visible) out.push_back(ToJson(u));
  }
  return {200, Json{{"users", out}}};
}

Answer AddUser(Call& c) {
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto address = StringField(*body, "address");
  if (!address.ok()) return ErrorAnswer(address.error());
  bool participating = true;
  if (body->contains("participating")) {
    if (!(*body)["participating"].is_boolean()) {
      return ErrorAnswer(400, "invalid_argument", "\"participating\" must be true or false");
    }
    participating = (*body)["participating"].get<bool>();
  }
  auto normal = mail::NormalizeAddress(*address);
  if (!normal.ok()) return ErrorAnswer(normal.error());
  const std::string domain = mail::DomainOf(*normal);
  auto tenant = c.access.TenantOf(domain);
  if (!tenant.ok()) return ErrorAnswer(tenant.error());
  if (auto hidden = Hidden(c.access.Domain(domain), "domain", domain)) return *hidden;
  keyservice::User u{*normal, participating, tenant->value_or("")};
  // "tenant" is optional and must be the domain's: compared here, before
  // the keyservice looks it up, so that a name outside the scope is answered
  // like any other wrong one (no existence leak).
  if (body->contains("tenant")) {
    const Json& t = (*body)["tenant"];
    if (!t.is_string() || (!t.get<std::string>().empty() && t.get<std::string>() != u.tenant)) {
      return ErrorAnswer(400, "invalid_argument",
                         "\"tenant\" must be the tenant of domain " + domain + " (" + u.tenant +
                             ") or left out: a user belongs to its domain's tenant");
    }
  }
  auto put = c.d.keys.PutUsers({u});
  if (!put.ok()) return ErrorAnswer(put.error());
  return {put->added > 0 ? 201 : 200, ToJson(u)};
}

Answer ShowUser(Call& c) {
  const std::string& address = c.params[0];
  auto user = FindUser(c, address);
  if (!user.ok()) return ErrorAnswer(user.error());
  if (!*user) return NotFound("user", address);
  return {200, ToJson(**user)};
}

Answer DisableUser(Call& c) { return SetParticipating(c, false); }
Answer EnableUser(Call& c) { return SetParticipating(c, true); }

Answer RemoveUser(Call& c) {
  const std::string& address = c.params[0];
  auto user = FindUser(c, address);
  if (!user.ok()) return ErrorAnswer(user.error());
  if (!*user) return NotFound("user", address);
  auto st = c.d.keys.RemoveUser((*user)->address);
  if (!st.ok()) return ErrorAnswer(st.error());
  return {204, nullptr};
}

// A new key and certificate for the user now.
Answer RolloverKey(Call& c) {
  const std::string& address = c.params[0];
  auto user = FindUser(c, address);
  if (!user.ok()) return ErrorAnswer(user.error());
  if (!*user) return NotFound("user", address);
  auto r = c.d.keys.Rollover((*user)->address);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {200, Json{{"key_id", r->key_id}, {"fingerprint", r->fingerprint}}};
}

// Revokes the user's current certificate at its CA ({"reason": RFC 5280
// name, default "superseded"}) and issues a new one.
Answer RevokeKey(Call& c) {
  const std::string& address = c.params[0];
  auto user = FindUser(c, address);
  if (!user.ok()) return ErrorAnswer(user.error());
  if (!*user) return NotFound("user", address);
  std::string reason = "superseded";
  if (!c.body.empty()) {
    auto body = BodyObject(c);
    if (!body.ok()) return ErrorAnswer(body.error());
    auto given = StringField(*body, "reason");
    if (!given.ok()) return ErrorAnswer(given.error());
    if (!given->empty()) reason = *given;
  }
  auto r = c.d.keys.RevokeKey((*user)->address, reason);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {200, Json{{"revoked_serial", r->revoked_serial},
                    {"revoked_fingerprint", r->revoked_fingerprint},
                    {"key_id", r->replacement.key_id},
                    {"fingerprint", r->replacement.fingerprint}}};
}

}  // namespace sg::admin
