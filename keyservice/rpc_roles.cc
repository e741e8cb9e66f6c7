#include "keyservice/rpc_roles.h"

#include <algorithm>

#include "keyservice/rpc_role_egress.h"
#include "keyservice/rpc_role_portal.h"

namespace sg::keyservice {
namespace {

constexpr const char* kService = "/smimegate.keyservice.v1.KeyService/";
constexpr const char* kAdmin = "/smimegate.keyservice.v1.KeyAdmin/";
constexpr const char* kGuard = "/smimegate.keyservice.v1.DecryptGuard/";
constexpr const char* kDkim = "/smimegate.keyservice.v1.Dkim/";

}  // namespace

const std::vector<std::string>& IssuableRoles() {
  static const std::vector<std::string> roles = {
      std::string(kRoleWorker), std::string(kRoleAdmin), std::string(kRoleReader),
      std::string(kRoleIngress), std::string(kRoleEgress), std::string(kRolePortal)};
  return roles;
}

bool IsIssuableRole(const std::string& role) {
  const auto& roles = IssuableRoles();
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

RoleTable RoleTable::KeyServiceDefault() {
  const std::string worker(kRoleWorker), reader(kRoleReader), ingress(kRoleIngress);
  auto svc = [](const char* m) { return std::string(kService) + m; };
  auto adm = [](const char* m) { return std::string(kAdmin) + m; };
  auto guard = [](const char* m) { return std::string(kGuard) + m; };
  RoleTable t;
  t.Add({
      // Private keys: workers only, never an admin.
      {svc("GetSigningIdentity"), {worker}, true},
      {svc("GetDecryptionKeys"), {worker}, true},
      // Public material and the worker's duties.
      {svc("GetEncryptionCertificate"), {worker, reader}},
      {svc("Participates"), {worker, reader, ingress}},
      {svc("HarvestCertificate"), {worker}},
      {svc("GetTrustAnchors"), {worker, reader}},
      {svc("WaitForChanges"), {worker, reader, ingress}},
      {svc("TenantDomains"), {worker, reader, ingress}},  // ingress's runtime domains
      // Admin reads that expose nothing secret.
      {adm("ListUsers"), {reader}},
      {adm("ListDomains"), {reader}},
      {adm("ListCertificates"), {reader}},
      {adm("CaExport"), {reader}},
      {adm("TrustSources"), {reader}},
      {adm("TenantList"), {reader}},
      {adm("TenantShow"), {reader}},
      {adm("ResellerList"), {reader}},
      {adm("ResellerShow"), {reader}},
      {adm("UsageReport"), {reader}},
      {adm("GlobalRulesShow"), {reader}},  // like TenantShow's policy
      // Workers in their own process report message counters in batches.
      {adm("UsageRecordMessages"), {worker}},
      // Every other KeyAdmin method has no rule: admin only.
      // The decryption failure guard (common/decrypt_guard.h): the
      // workers' memory of content keys and failure DSNs.
      {guard("ObserveContentKey"), {worker}},
      {guard("PermitFailureDsn"), {worker}},
      // DKIM keys (proto/dkim.proto): the private key for workers only;
      // the list (public keys) for readers too; the rest admin only.
      {std::string(kDkim) + "GetDkimKey", {worker}, true},
      {std::string(kDkim) + "DkimList", {reader}},
  });
  return t;
}

void RoleTable::Add(MethodRule rule) {
  std::string method = rule.method;
  rules_[method] = std::move(rule);
}

void RoleTable::Add(const std::vector<MethodRule>& rules) {
  for (const auto& r : rules) Add(r);
}

RoleTable::Decision RoleTable::Check(std::string_view method, std::string_view role) const {
  auto it = rules_.find(method);
  if (it == rules_.end()) {
    if (role == kRoleAdmin) return {true, ""};
    return {false, "only the admin role may call " + ShortMethod(method)};
  }
  const MethodRule& rule = it->second;
  if (role == kRoleAdmin && !rule.private_keys) return {true, ""};
  if (std::find(rule.roles.begin(), rule.roles.end(), role) != rule.roles.end()) return {true, ""};
  std::string allowed;
  for (const auto& r : rule.roles) allowed += (allowed.empty() ? "" : ", ") + r;
  if (!rule.private_keys) allowed += (allowed.empty() ? "" : ", ") + std::string(kRoleAdmin);
  return {false, ShortMethod(method) + " is for the " + allowed + " role" +
                     (rule.roles.size() + (rule.private_keys ? 0 : 1) > 1 ? "s" : "") +
                     ", not for \"" + std::string(role) + "\""};
}

std::string RoleFromUris(const std::vector<std::string>& uris, const std::string& trust_domain) {
  const std::string prefix = "spiffe://" + trust_domain + "/";
  std::string role;
  for (const auto& uri : uris) {
    if (uri.size() <= prefix.size() || uri.compare(0, prefix.size(), prefix) != 0) continue;
    if (!role.empty()) return std::string(kAmbiguousRole);
    role = uri.substr(prefix.size());
  }
  return role;
}

std::string ShortMethod(std::string_view method) {
  // "/smimegate.keyservice.v1.KeyAdmin/PutUsers": keep "KeyAdmin/PutUsers".
  auto slash = method.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::string(method);
  auto service = method.substr(0, slash);
  auto dot = service.rfind('.');
  auto start = dot == std::string_view::npos ? (service[0] == '/' ? 1 : 0) : dot + 1;
  return std::string(method.substr(start));
}

}  // namespace sg::keyservice
