#include "admin/admin_scope.h"

#include "keyservice/tenant_registry.h"

namespace sg::admin {

std::string Scope::ToString() const {
  switch (kind) {
    case Kind::kSuper:
      return "super";
    case Kind::kReseller:
      return "reseller:" + id;
    case Kind::kTenant:
      return "tenant:" + id;
  }
  return "tenant:" + id;
}

Result<Scope> ParseScope(const std::string& text) {
  if (text == "super") return Scope{Scope::Kind::kSuper, ""};
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (colon == std::string::npos || (kind != "reseller" && kind != "tenant")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "scope \"" + text + "\": use super, reseller:ID or tenant:ID");
  }
  SG_ASSIGN_OR_RETURN(std::string id, keyservice::NormalizeTenantId(text.substr(colon + 1), kind));
  return Scope{kind == "reseller" ? Scope::Kind::kReseller : Scope::Kind::kTenant, id};
}

}  // namespace sg::admin
