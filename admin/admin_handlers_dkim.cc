// The DKIM keys of a hosted domain (docs/dkim.md, docs/admin-api.md "DKIM
// keys"): list, generate, activate, remove. A domain outside the caller's
// scope is a 404 like a missing one; the keyservice seals and keeps the keys
// (keyservice/dkim_admin.h).
#include "admin/admin_handlers.h"
#include "common/mail/address.h"
#include "keyservice/dkim_keys.h"

namespace sg::admin {
namespace {

// The normalised domain when the caller may see it; else the answer (404).
Result<std::string> VisibleDomain(Call& c, std::optional<Answer>& refused) {
  const std::string& name = c.params[0];
  if (auto hidden = Hidden(c.access.Domain(name), "domain", name)) {
    refused = *hidden;
    return std::string();
  }
  return mail::NormalizeDomain(name);
}

}  // namespace

Answer ListDkimKeys(Call& c) {
  std::optional<Answer> refused;
  auto domain = VisibleDomain(c, refused);
  if (refused) return *refused;
  if (!domain.ok()) return ErrorAnswer(domain.error());
  auto keys = c.d.dkim.DkimList(*domain);
  if (!keys.ok()) return ErrorAnswer(keys.error());
  Json out = Json::array();
  for (const auto& k : *keys) out.push_back(keyservice::DkimKeyJson(k));
  return {200, Json{{"keys", out}}};
}

Answer GenerateDkimKey(Call& c) {
  std::optional<Answer> refused;
  auto domain = VisibleDomain(c, refused);
  if (refused) return *refused;
  if (!domain.ok()) return ErrorAnswer(domain.error());
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto selector = StringField(*body, "selector");
  auto algorithm = StringField(*body, "algorithm");
  if (!selector.ok()) return ErrorAnswer(selector.error());
  if (!algorithm.ok()) return ErrorAnswer(algorithm.error());
  auto k = c.d.dkim.DkimKeygen(*domain, *selector, *algorithm);
  if (!k.ok()) return ErrorAnswer(k.error());
  return {201, keyservice::DkimKeyJson(*k)};
}

Answer ActivateDkimKey(Call& c) {
  std::optional<Answer> refused;
  auto domain = VisibleDomain(c, refused);
  if (refused) return *refused;
  if (!domain.ok()) return ErrorAnswer(domain.error());
  auto k = c.d.dkim.DkimActivate(*domain, c.params[1]);
  if (!k.ok()) return ErrorAnswer(k.error());
  return {200, keyservice::DkimKeyJson(*k)};
}

Answer RemoveDkimKey(Call& c) {
  std::optional<Answer> refused;
  auto domain = VisibleDomain(c, refused);
  if (refused) return *refused;
  if (!domain.ok()) return ErrorAnswer(domain.error());
  auto st = c.d.dkim.DkimRemove(*domain, c.params[1]);
  if (!st.ok()) return ErrorAnswer(st.error());
  return {204, nullptr};
}

}  // namespace sg::admin
