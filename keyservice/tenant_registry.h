// TenantRegistry: the stored tenants and resellers (docs/tenants.md) in the
// keyservice store's meta column family ("tenant/<id>", "reseller/<id>",
// and the global policy rules "policy/global"),
// and the rules for their ids. Only storage and syntax: the relations
// (a tenant's reseller exists, no removal orphans anything) are checked by
// KeyServiceImpl (tenant_service.cc), which serialises every write.
//
// Threading: thread-safe (the store is); read-modify-write sequences are
// serialised by the caller.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/key_store.h"
#include "keyservice/tenant_admin.h"

namespace sg::keyservice {

// A valid id, lower-cased: letters, digits and '-', 1 to 63 characters,
// starting with a letter or digit. kInvalidArgument naming `what` ("tenant",
// "reseller") and the rule otherwise.
Result<std::string> NormalizeTenantId(const std::string& id, const std::string& what);

// A display name: at most 200 bytes, no control characters. kInvalidArgument otherwise.
Status CheckTenantName(const std::string& name, const std::string& what);

// The id an older store's free-text tenant label becomes ("Acme Corp" ->
// "acme-corp"); "" when nothing usable is left.
std::string TenantIdFromLabel(const std::string& label);

// The API view of a stored tenant (route, bindings) with its `domains`.
Tenant TenantFromStored(const store::StoredTenant& t, std::vector<std::string> domains);

class TenantRegistry {
 public:
  explicit TenantRegistry(KeyStore& store) : store_(store) {}

  Result<std::optional<store::StoredTenant>> GetTenant(const std::string& id);
  Status PutTenant(const store::StoredTenant& tenant);
  Status DeleteTenant(const std::string& id);
  Result<std::vector<store::StoredTenant>> ListTenants();  // by id

  Result<std::optional<store::StoredReseller>> GetReseller(const std::string& id);
  Status PutReseller(const store::StoredReseller& reseller);
  Status DeleteReseller(const std::string& id);
  Result<std::vector<store::StoredReseller>> ListResellers();  // by id

  // The global policy rules (meta record "policy/global"); empty when none.
  Result<store::StoredGlobalRules> GetGlobalRules();
  Status PutGlobalRules(const store::StoredGlobalRules& rules);

 private:
  KeyStore& store_;
};

}  // namespace sg::keyservice
