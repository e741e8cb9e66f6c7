#include "keyservice/tenant_registry.h"

#include <string>
#include <string_view>

#include "common/ascii.h"

namespace sg::keyservice {
namespace {

constexpr size_t kMaxIdLength = 63;
constexpr size_t kMaxNameLength = 200;
constexpr std::string_view kTenantPrefix = "tenant/";
constexpr std::string_view kResellerPrefix = "reseller/";
constexpr const char* kGlobalRulesKey = "policy/global";

// The store key of a tenant or reseller record.
std::string RecordKey(std::string_view prefix, std::string_view id) {
  std::string key(prefix);
  key.append(id);
  return key;
}

bool IdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

template <typename M>
Result<std::optional<M>> GetRecord(KeyStore& store, const std::string& key) {
  SG_ASSIGN_OR_RETURN(auto raw, store.GetMeta(key));
  if (!raw) return std::optional<M>();
  M msg;
  if (!msg.ParseFromString(*raw)) {
    return MakeError(ErrorCode::kCorruption, "keyservice store: broken record " + key);
  }
  return std::optional<M>(std::move(msg));
}

template <typename M>
Result<std::vector<M>> ListRecords(KeyStore& store, const std::string& prefix) {
  SG_ASSIGN_OR_RETURN(auto raws, store.ScanMeta(prefix));
  std::vector<M> out;
  out.reserve(raws.size());
  for (const auto& raw : raws) {
    M msg;
    if (!msg.ParseFromString(raw)) {
      return MakeError(ErrorCode::kCorruption, "keyservice store: broken record under " + prefix);
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace

Result<std::string> NormalizeTenantId(const std::string& id, const std::string& what) {
  const std::string out = AsciiLower(id);
  bool ok = !out.empty() && out.size() <= kMaxIdLength && out[0] != '-';
  for (char c : out) ok = ok && IdChar(c);
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " id \"" + id + "\": use 1 to 63 letters, digits and '-', starting "
                     "with a letter or digit");
  }
  return out;
}

Status CheckTenantName(const std::string& name, const std::string& what) {
  if (name.size() > kMaxNameLength) {
    return MakeError(ErrorCode::kInvalidArgument, what + " name: longer than 200 bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return MakeError(ErrorCode::kInvalidArgument, what + " name: no control characters");
    }
  }
  return OkStatus();
}

std::string TenantIdFromLabel(const std::string& label) {
  std::string out;
  for (char c : label) {
    const char l = AsciiLower(c);
    if (IdChar(l) && l != '-') {
      out.push_back(l);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > kMaxIdLength) out.resize(kMaxIdLength);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

Result<std::optional<store::StoredTenant>> TenantRegistry::GetTenant(const std::string& id) {
  return GetRecord<store::StoredTenant>(store_, RecordKey(kTenantPrefix, id));
}
Status TenantRegistry::PutTenant(const store::StoredTenant& tenant) {
  return store_.PutMeta(RecordKey(kTenantPrefix, tenant.id()), tenant.SerializeAsString());
}
Status TenantRegistry::DeleteTenant(const std::string& id) {
  return store_.DeleteMeta(RecordKey(kTenantPrefix, id));
}
Result<std::vector<store::StoredTenant>> TenantRegistry::ListTenants() {
  return ListRecords<store::StoredTenant>(store_, std::string(kTenantPrefix));
}

Result<std::optional<store::StoredReseller>> TenantRegistry::GetReseller(const std::string& id) {
  return GetRecord<store::StoredReseller>(store_, RecordKey(kResellerPrefix, id));
}
Status TenantRegistry::PutReseller(const store::StoredReseller& reseller) {
  return store_.PutMeta(RecordKey(kResellerPrefix, reseller.id()), reseller.SerializeAsString());
}
Status TenantRegistry::DeleteReseller(const std::string& id) {
  return store_.DeleteMeta(RecordKey(kResellerPrefix, id));
}
Result<std::vector<store::StoredReseller>> TenantRegistry::ListResellers() {
  return ListRecords<store::StoredReseller>(store_, std::string(kResellerPrefix));
}

Result<store::StoredGlobalRules> TenantRegistry::GetGlobalRules() {
  SG_ASSIGN_OR_RETURN(auto rules, GetRecord<store::StoredGlobalRules>(store_, kGlobalRulesKey));
  return rules ? std::move(*rules) : store::StoredGlobalRules();
}

Status TenantRegistry::PutGlobalRules(const store::StoredGlobalRules& rules) {
  return store_.PutMeta(kGlobalRulesKey, rules.SerializeAsString());
}

}  // namespace sg::keyservice
