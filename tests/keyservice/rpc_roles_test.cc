// The role table and the per-call verdicts, as a table (rpc_roles.h,
// rpc_authorizer.h): deny by default, private keys for workers only.
#include "keyservice/rpc_roles.h"

#include <gtest/gtest.h>

#include "keyservice/rpc_authorizer.h"

namespace sg::keyservice {
namespace {

const std::string kSvc = "/smimegate.keyservice.v1.KeyService/";
const std::string kAdm = "/smimegate.keyservice.v1.KeyAdmin/";

struct Case {
  std::string method;
  std::string role;
  bool allowed;
};

TEST(RoleTableTest, KeyServiceDefault) {
  RoleTable t = RoleTable::KeyServiceDefault();
  const Case cases[] = {
      // Private keys: workers only, never admin or anyone else.
      {kSvc + "GetSigningIdentity", "worker", true},
      {kSvc + "GetSigningIdentity", "admin", false},
      {kSvc + "GetSigningIdentity", "reader", false},
      {kSvc + "GetDecryptionKeys", "worker", true},
      {kSvc + "GetDecryptionKeys", "admin", false},
      {kSvc + "GetDecryptionKeys", "ingress", false},
      // Public lookups.
      {kSvc + "GetEncryptionCertificate", "worker", true},
      {kSvc + "GetEncryptionCertificate", "reader", true},
      {kSvc + "GetEncryptionCertificate", "admin", true},
      {kSvc + "GetEncryptionCertificate", "ingress", false},
      {kSvc + "Participates", "ingress", true},
      {kSvc + "Participates", "reader", true},
      {kSvc + "WaitForChanges", "ingress", true},
      {kSvc + "HarvestCertificate", "worker", true},
      {kSvc + "HarvestCertificate", "reader", false},
      {kSvc + "GetTrustAnchors", "reader", true},
      // Admin changes: admin only.
      {kAdm + "TrustAdd", "admin", true},
      {kAdm + "TrustAdd", "worker", false},
      {kAdm + "TrustAdd", "reader", false},
      {kAdm + "ImportKey", "reader", false},
      {kAdm + "PutUsers", "worker", false},
      {kAdm + "IssueCredentials", "reader", false},
      {kAdm + "ListAudit", "reader", false},
      {kAdm + "RotateKek", "admin", true},
      {kAdm + "RevokeKey", "admin", true},
      {kAdm + "RevokeKey", "worker", false},
      {kAdm + "RevokeKey", "reader", false},
      // Admin reads of public material: also reader.
      {kAdm + "ListUsers", "reader", true},
      {kAdm + "ListCertificates", "reader", true},
      {kAdm + "CaExport", "reader", true},
      {kAdm + "TrustSources", "reader", true},
      {kAdm + "TrustSources", "worker", false},
      {kAdm + "ListUsers", "worker", false},
      // Tenants (docs/tenants.md): changes admin only, reads also reader;
      // the hosted domains also for ingress (its runtime domain set).
      {kAdm + "TenantAdd", "admin", true},
      {kAdm + "TenantAdd", "reader", false},
      {kAdm + "TenantRemove", "reader", false},
      {kAdm + "ResellerAdd", "reader", false},
      {kAdm + "TenantRemoveDomain", "reader", false},
      {kAdm + "TenantRemoveDomain", "ingress", false},
      {kAdm + "TenantList", "reader", true},
      {kAdm + "ResellerShow", "reader", true},
      {kAdm + "TenantList", "ingress", false},
      {kSvc + "TenantDomains", "ingress", true},
      {kSvc + "TenantDomains", "worker", true},
      {kSvc + "TenantDomains", "admin", true},
      // Routes, bindings and usage (docs/tenants.md, docs/usage.md): changes
      // admin only; the report also reader; counter batches from workers.
      {kAdm + "TenantRouteSet", "reader", false},
      {kAdm + "TenantRouteSet", "ingress", false},
      {kAdm + "TenantBind", "reader", false},
      {kAdm + "TenantUnbind", "worker", false},
      {kAdm + "UsageReport", "reader", true},
      {kAdm + "UsageReport", "worker", false},
      {kAdm + "UsageSetTotal", "reader", false},
      {kAdm + "UsageRecordMessages", "worker", true},
      {kAdm + "UsageRecordMessages", "reader", false},
      {kAdm + "UsageRecordMessages", "admin", true},
      // Tenant policy overrides and branding: admin only.
      {kAdm + "TenantPolicySet", "admin", true},
      {kAdm + "TenantPolicySet", "reader", false},
      {kAdm + "TenantPolicySet", "worker", false},
      {kAdm + "TenantPolicyClear", "ingress", false},
      {kAdm + "TenantBrandingSet", "reader", false},
      {kAdm + "TenantBrandingClear", "worker", false},
      // The registry's global rules: changes admin only, the list also reader.
      {kAdm + "GlobalRulesShow", "reader", true},
      {kAdm + "GlobalRulesShow", "worker", false},
      {kAdm + "GlobalRulesSet", "admin", true},
      {kAdm + "GlobalRulesSet", "reader", false},
      {kAdm + "GlobalRuleAdd", "worker", false},
      {kAdm + "GlobalRuleRemove", "ingress", false},
      // Unknown methods and services: admin only (deny by default).
      {"/smimegate.queue.v1.QueueAdmin/Purge", "admin", true},
      {"/smimegate.queue.v1.QueueAdmin/Purge", "worker", false},
      {"/smimegate.queue.v1.QueueAdmin/Purge", "reader", false},
      {"", "worker", false},
      // Unknown roles get nothing.
      {kSvc + "Participates", "keyservice", false},
      {kSvc + "Participates", "", false},
  };
  for (const auto& c : cases) {
    auto d = t.Check(c.method, c.role);
    EXPECT_EQ(d.allowed, c.allowed) << c.method << " as \"" << c.role << "\": " << d.reason;
    if (!d.allowed) {
      EXPECT_FALSE(d.reason.empty());
    }
  }
}

TEST(RoleTableTest, RulesForFurtherServices) {
  RoleTable t = RoleTable::KeyServiceDefault();
  t.Add(MethodRule{"/smimegate.test.Extra/Open", {"reader"}});
  EXPECT_TRUE(t.Check("/smimegate.test.Extra/Open", "reader").allowed);
  EXPECT_TRUE(t.Check("/smimegate.test.Extra/Open", "admin").allowed);
  EXPECT_FALSE(t.Check("/smimegate.test.Extra/Echo", "reader").allowed);
  EXPECT_TRUE(t.Check("/smimegate.test.Extra/Echo", "admin").allowed);
}

TEST(RoleTableTest, RoleFromUris) {
  EXPECT_EQ(RoleFromUris({"spiffe://smimegate/worker"}, "smimegate"), "worker");
  EXPECT_EQ(RoleFromUris({"https://example.com/", "spiffe://smimegate/admin"}, "smimegate"), "admin");
  EXPECT_EQ(RoleFromUris({"spiffe://other/admin"}, "smimegate"), "") << "another trust domain";
  EXPECT_EQ(RoleFromUris({"spiffe://smimegate/"}, "smimegate"), "");
  EXPECT_EQ(RoleFromUris({}, "smimegate"), "");
  EXPECT_EQ(RoleFromUris({"spiffe://smimegate/worker", "spiffe://smimegate/admin"}, "smimegate"),
            std::string(kAmbiguousRole));
  EXPECT_EQ(ShortMethod(kAdm + "PutUsers"), "KeyAdmin/PutUsers");
}

TEST(RpcAuthorizerTest, Verdicts) {
  metrics::Registry registry;
  RpcAuthorizer a(RoleTable::KeyServiceDefault(), "smimegate", &registry);
  PeerIdentity none;
  EXPECT_EQ(a.Authorize(kSvc + "Participates", none).code, RpcAuthorizer::Code::kUnauthenticated);
  PeerIdentity no_role{true, "CN=x", {}};
  auto v = a.Authorize(kSvc + "Participates", no_role);
  EXPECT_EQ(v.code, RpcAuthorizer::Code::kPermissionDenied);
  EXPECT_NE(v.message.find("carries no role"), std::string::npos) << v.message;
  PeerIdentity two{true, "CN=x", {"spiffe://smimegate/worker", "spiffe://smimegate/admin"}};
  EXPECT_EQ(a.Authorize(kSvc + "Participates", two).code, RpcAuthorizer::Code::kPermissionDenied);
  PeerIdentity worker{true, "CN=w", {"spiffe://smimegate/worker"}};
  v = a.Authorize(kSvc + "GetDecryptionKeys", worker);
  EXPECT_EQ(v.code, RpcAuthorizer::Code::kOk);
  EXPECT_EQ(v.role, "worker");
  v = a.Authorize(kAdm + "TrustAdd", worker);
  EXPECT_EQ(v.code, RpcAuthorizer::Code::kPermissionDenied);
  EXPECT_NE(v.message.find("KeyAdmin/TrustAdd"), std::string::npos) << v.message;
  std::string text = registry.Serialize();
  EXPECT_NE(text.find("smimegate_rpc_denied_total{code=\"PERMISSION_DENIED\",role=\"worker\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("smimegate_rpc_denied_total{code=\"UNAUTHENTICATED\",role=\"none\"} 1"),
            std::string::npos) << text;
}

}  // namespace
}  // namespace sg::keyservice
