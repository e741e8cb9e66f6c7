// Tenant isolation over the admin REST API (issue 19): every route with
// an object in its path, called with a token of tenant A on tenant B's
// object, answers 404 with the body of an object that does not exist, and
// changes nothing; lists are filtered; a reseller token reaches its own
// tenants only; a super token reaches everything. The test also fails when
// a route of the route table has no case here, so a new endpoint cannot
// skip the check.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/admin_routes.h"
#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;

// One request on somebody's object and the same on an object that does not
// exist; `foreign_id` / `missing_id` name the object in the 404 message.
struct Case {
  std::string route;  // "GET /v1/tenants/{id}": the route table entry it covers
  std::string method;
  std::string foreign_path, foreign_body;
  std::string missing_path, missing_body;
  std::string foreign_id, missing_id;
};

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

constexpr const char* kPolicyBody = R"({"rules":[{"match":"x.example","action":"force_encrypt"}]})";
constexpr const char* kBrandingBody = R"({"color":"#123456"})";

// Cases on tenant b's objects (reseller r2), for a caller of tenant a / reseller r1.
std::vector<Case> CasesOnTenantB(const std::string& bob_cert) {
  const std::string none_cert(64, '0');
  return {
      {"GET /v1/resellers/{id}", "GET", "/v1/resellers/r2", "", "/v1/resellers/zz", "", "r2", "zz"},
      {"DELETE /v1/resellers/{id}", "DELETE", "/v1/resellers/r2", "", "/v1/resellers/zz", "", "r2",
       "zz"},
      {"GET /v1/tenants/{id}", "GET", "/v1/tenants/b", "", "/v1/tenants/zz", "", "b", "zz"},
      {"DELETE /v1/tenants/{id}", "DELETE", "/v1/tenants/b", "", "/v1/tenants/zz", "", "b", "zz"},
      {"POST /v1/domains", "POST", "/v1/domains", R"({"name":"new.example","tenant":"b"})",
       "/v1/domains", R"({"name":"new.example","tenant":"zz"})", "b", "zz"},
      {"GET /v1/domains/{name}", "GET", "/v1/domains/b.example", "", "/v1/domains/zz.example", "",
       "b.example", "zz.example"},
      {"DELETE /v1/domains/{name}", "DELETE", "/v1/domains/b.example", "", "/v1/domains/zz.example",
       "", "b.example", "zz.example"},
      {"GET /v1/domains/{name}/dkim", "GET", "/v1/domains/b.example/dkim", "",
       "/v1/domains/zz.example/dkim", "", "b.example", "zz.example"},
      {"POST /v1/domains/{name}/dkim", "POST", "/v1/domains/b.example/dkim",
       R"({"selector":"iso1","algorithm":"ed25519"})", "/v1/domains/zz.example/dkim",
       R"({"selector":"iso1","algorithm":"ed25519"})", "b.example", "zz.example"},
      {"POST /v1/domains/{name}/dkim/{selector}/activate", "POST",
       "/v1/domains/b.example/dkim/iso1/activate", "", "/v1/domains/zz.example/dkim/iso1/activate",
       "", "b.example", "zz.example"},
      {"DELETE /v1/domains/{name}/dkim/{selector}", "DELETE", "/v1/domains/b.example/dkim/iso1", "",
       "/v1/domains/zz.example/dkim/iso1", "", "b.example", "zz.example"},
      {"GET /v1/users", "GET", "/v1/users?domain=b.example", "", "/v1/users?domain=zz.example", "",
       "b.example", "zz.example"},
      {"POST /v1/users", "POST", "/v1/users", R"({"address":"new@b.example"})", "/v1/users",
       R"({"address":"new@zz.example"})", "b.example", "zz.example"},
      {"GET /v1/users/{address}", "GET", "/v1/users/bob@b.example", "",
       "/v1/users/nobody@zz.example", "", "bob@b.example", "nobody@zz.example"},
      {"DELETE /v1/users/{address}", "DELETE", "/v1/users/bob@b.example", "",
       "/v1/users/nobody@zz.example", "", "bob@b.example", "nobody@zz.example"},
      {"POST /v1/users/{address}/disable", "POST", "/v1/users/bob@b.example/disable", "",
       "/v1/users/nobody@zz.example/disable", "", "bob@b.example", "nobody@zz.example"},
      {"POST /v1/users/{address}/enable", "POST", "/v1/users/bob@b.example/enable", "",
       "/v1/users/nobody@zz.example/enable", "", "bob@b.example", "nobody@zz.example"},
      {"POST /v1/users/{address}/keys/rollover", "POST", "/v1/users/bob@b.example/keys/rollover",
       "", "/v1/users/nobody@zz.example/keys/rollover", "", "bob@b.example", "nobody@zz.example"},
      {"POST /v1/users/{address}/keys/revoke", "POST", "/v1/users/bob@b.example/keys/revoke",
       R"({"reason":"keyCompromise"})", "/v1/users/nobody@zz.example/keys/revoke",
       R"({"reason":"keyCompromise"})", "bob@b.example", "nobody@zz.example"},
      {"GET /v1/certificates/{fingerprint}", "GET", "/v1/certificates/" + bob_cert, "",
       "/v1/certificates/" + none_cert, "", bob_cert, none_cert},
      {"GET /v1/usage", "GET", "/v1/usage?month=2026-11&tenant=b", "",
       "/v1/usage?month=2026-11&tenant=zz", "", "b", "zz"},
      {"GET /v1/usage", "GET", "/v1/usage?month=2026-11&reseller=r2", "",
       "/v1/usage?month=2026-11&reseller=zz", "", "r2", "zz"},
      {"PUT /v1/domains/{name}/total-users", "PUT", "/v1/domains/b.example/total-users",
       R"({"total_users":1})", "/v1/domains/zz.example/total-users", R"({"total_users":1})",
       "b.example", "zz.example"},
      {"GET /v1/tenants/{id}/route", "GET", "/v1/tenants/b/route", "", "/v1/tenants/zz/route", "",
       "b", "zz"},
      {"PUT /v1/tenants/{id}/route", "PUT", "/v1/tenants/b/route", R"({"hosts":["evil.example"]})",
       "/v1/tenants/zz/route", R"({"hosts":["evil.example"]})", "b", "zz"},
      {"DELETE /v1/tenants/{id}/route", "DELETE", "/v1/tenants/b/route", "", "/v1/tenants/zz/route",
       "", "b", "zz"},
      {"GET /v1/tenants/{id}/bindings", "GET", "/v1/tenants/b/bindings", "",
       "/v1/tenants/zz/bindings", "", "b", "zz"},
      {"POST /v1/tenants/{id}/bindings", "POST", "/v1/tenants/b/bindings",
       R"({"kind":"network","value":"198.51.100.0/24"})", "/v1/tenants/zz/bindings",
       R"({"kind":"network","value":"198.51.100.0/24"})", "b", "zz"},
      {"DELETE /v1/tenants/{id}/bindings/{kind}/{value}", "DELETE",
       "/v1/tenants/b/bindings/network/192.0.2.0%2F24", "",
       "/v1/tenants/zz/bindings/network/192.0.2.0%2F24", "", "b", "zz"},
      {"POST /v1/users/{address}/keys", "POST", "/v1/users/bob@b.example/keys",
       R"({"pkcs12":"MIIB","password":"x"})", "/v1/users/nobody@zz.example/keys",
       R"({"pkcs12":"MIIB","password":"x"})", "bob@b.example", "nobody@zz.example"},
      // A tenant's policy override and branding (docs/admin-api.md).
      {"GET /v1/tenants/{id}/policy", "GET", "/v1/tenants/b/policy", "", "/v1/tenants/zz/policy",
       "", "b", "zz"},
      {"PUT /v1/tenants/{id}/policy", "PUT", "/v1/tenants/b/policy", kPolicyBody,
       "/v1/tenants/zz/policy", kPolicyBody, "b", "zz"},
      {"DELETE /v1/tenants/{id}/policy", "DELETE", "/v1/tenants/b/policy", "",
       "/v1/tenants/zz/policy", "", "b", "zz"},
      {"GET /v1/tenants/{id}/branding", "GET", "/v1/tenants/b/branding", "",
       "/v1/tenants/zz/branding", "", "b", "zz"},
      {"PUT /v1/tenants/{id}/branding", "PUT", "/v1/tenants/b/branding", kBrandingBody,
       "/v1/tenants/zz/branding", kBrandingBody, "b", "zz"},
      {"DELETE /v1/tenants/{id}/branding", "DELETE", "/v1/tenants/b/branding", "",
       "/v1/tenants/zz/branding", "", "b", "zz"},
      // The portal's messages (FakePortalAdmin: pat@y.example/0003 is from bob@b.example).
      {"GET /v1/portal/messages", "GET", "/v1/portal/messages?domain=b.example", "",
       "/v1/portal/messages?domain=zz.example", "", "b.example", "zz.example"},
      {"DELETE /v1/portal/messages/{recipient}/{id}", "DELETE",
       "/v1/portal/messages/pat@y.example/0003", "", "/v1/portal/messages/pat@y.example/ffff", "",
       "pat@y.example/0003", "pat@y.example/ffff"},
      // A recipient's portal account: pat@y.example has only tenant b's messages.
      {"GET /v1/portal/recipients/{recipient}", "GET", "/v1/portal/recipients/pat@y.example", "",
       "/v1/portal/recipients/zz@y.example", "", "pat@y.example", "zz@y.example"},
      {"POST /v1/portal/recipients/{recipient}/logout", "POST",
       "/v1/portal/recipients/pat@y.example/logout", "",
       "/v1/portal/recipients/zz@y.example/logout", "", "pat@y.example", "zz@y.example"},
      {"POST /v1/portal/recipients/{recipient}/unlock", "POST",
       "/v1/portal/recipients/pat@y.example/unlock", "",
       "/v1/portal/recipients/zz@y.example/unlock", "", "pat@y.example", "zz@y.example"},
      {"POST /v1/portal/messages/{recipient}/{id}/resend-link", "POST",
       "/v1/portal/messages/pat@y.example/0003/resend-link", "",
       "/v1/portal/messages/pat@y.example/ffff/resend-link", "", "pat@y.example/0003",
       "pat@y.example/ffff"},
  };
}

// Routes a reseller or tenant token may never call, whatever the object:
// trust changes (anchors are global) and certificate imports for owners
// outside the scope (partners are shared by every tenant). The first
// request names tenant b's (or a global) object, the second a missing one;
// both answer the same 403.
std::vector<Case> SuperOnlyCases(const std::string& anchor) {
  const std::string none(64, '0');
  const std::string pem_body =
      R"({"pem":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"})";
  return {
      {"POST /v1/trust", "POST", "/v1/trust", pem_body, "/v1/trust", pem_body, "", ""},
      {"DELETE /v1/trust/{fingerprint}", "DELETE", "/v1/trust/" + anchor, "", "/v1/trust/" + none,
       "", "", ""},
      {"POST /v1/trust/pending/{fingerprint}/approve", "POST",
       "/v1/trust/pending/" + anchor + "/approve", "", "/v1/trust/pending/" + none + "/approve", "",
       "", ""},
      {"POST /v1/certificates", "POST", "/v1/certificates",
       R"({"owner":"bob@b.example","pem":"x"})", "/v1/certificates",
       R"({"owner":"bob@partner.example","pem":"x"})", "", ""},
      {"POST /v1/portal/purge-expired", "POST", "/v1/portal/purge-expired", "",
       "/v1/portal/purge-expired", "", "", ""},
      // The registry's global rules apply to every tenant's mail: an existing
      // rule (partner.example, added by the test) and a missing one.
      {"GET /v1/policy/rules", "GET", "/v1/policy/rules", "", "/v1/policy/rules", "", "", ""},
      {"PUT /v1/policy/rules", "PUT", "/v1/policy/rules", R"({"rules":[]})", "/v1/policy/rules",
       R"({"rules":[{"match":"zz.example"}]})", "", ""},
      {"POST /v1/policy/rules", "POST", "/v1/policy/rules",
       R"({"match":"partner.example","action":"exempt"})", "/v1/policy/rules",
       R"({"match":"zz.example"})", "", ""},
      {"DELETE /v1/policy/rules/{match}", "DELETE", "/v1/policy/rules/partner.example", "",
       "/v1/policy/rules/zz.example", "", "", ""},
  };
}

// The field `key` of every element of answer[list].
std::set<std::string> Field(const std::string& body, const std::string& list, const std::string& key) {
  std::set<std::string> out;
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains(list)) return {"<no " + list + " in " + body + ">"};
  for (const auto& e : j[list]) out.insert(e[key].get<std::string>());
  return out;
}

class AdminIsolationTest : public ::testing::Test {
 protected:
  void ExpectHidden(const std::string& token, const std::vector<Case>& cases) {
    for (const auto& c : cases) {
      SCOPED_TRACE(c.method + " " + c.foreign_path);
      auto foreign = server_.Call(c.method, c.foreign_path, token, c.foreign_body);
      auto missing = server_.Call(c.method, c.missing_path, token, c.missing_body);
      EXPECT_EQ(missing.status, 404) << missing.body;
      EXPECT_EQ(foreign.status, 404) << foreign.body;
      // Byte for byte the body of the missing object, but for its name.
      EXPECT_EQ(foreign.body, Replace(missing.body, c.missing_id, c.foreign_id));
    }
  }
  void ExpectForbidden(const std::string& token, const std::vector<Case>& cases) {
    for (const auto& c : cases) {
      SCOPED_TRACE(c.method + " " + c.foreign_path + " " + c.foreign_body);
      auto foreign = server_.Call(c.method, c.foreign_path, token, c.foreign_body);
      auto missing = server_.Call(c.method, c.missing_path, token, c.missing_body);
      EXPECT_EQ(foreign.status, 403) << foreign.body;
      EXPECT_EQ(foreign.body, missing.body);
    }
  }
  // A trust anchor added by the provider (the set is global).
  std::string AnyAnchor() {
    auto ca = keyservice::testing::MakeCa("Isolation CA", server_.clock().Now());
    auto added = server_.ks().TrustAdd({ca.der});
    EXPECT_TRUE(added.ok() && added->fingerprints.size() == 1);
    return added.ok() && !added->fingerprints.empty() ? added->fingerprints[0] : "";
  }
  void ExpectTenantBUntouched() {
    auto super = server_.Token("super");
    auto b = server_.ks().TenantShow("b");
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(b->route.hosts.empty());
    ASSERT_EQ(b->bindings.size(), 1u);
    EXPECT_EQ(b->bindings[0].value, "192.0.2.0/24");
    auto bob_certs = server_.ks().ListCertificates("bob@b.example", "");
    ASSERT_TRUE(bob_certs.ok());
    EXPECT_EQ(bob_certs->size(), 1u);
    EXPECT_EQ(server_.Call("GET", "/v1/tenants/b", super).status, 200);
    EXPECT_EQ(server_.Call("GET", "/v1/domains/b.example", super).status, 200);
    auto bob = server_.Call("GET", "/v1/users/bob@b.example", super);
    EXPECT_EQ(bob.status, 200);
    EXPECT_TRUE(Json::parse(bob.body)["participating"].get<bool>()) << bob.body;
    EXPECT_EQ(server_.CertificateOf("bob@b.example"), bob_cert_);
    EXPECT_EQ(server_.Call("GET", "/v1/resellers/r2", super).status, 200);
    EXPECT_EQ(server_.Call("GET", "/v1/domains/new.example", super).status, 404);
    EXPECT_EQ(server_.Call("GET", "/v1/users/new@b.example", super).status, 404);
    auto policy = server_.Call("GET", "/v1/tenants/b/policy", super);
    EXPECT_EQ(Json::parse(policy.body)["rules"].size(), 0u) << policy.body;
    auto branding = server_.Call("GET", "/v1/tenants/b/branding", super);
    EXPECT_EQ(Json::parse(branding.body)["color"], "") << branding.body;
    auto portal = server_.portal().Keys();
    EXPECT_EQ(std::count(portal.begin(), portal.end(), "partner@x.example/0002"), 1);
    EXPECT_EQ(std::count(portal.begin(), portal.end(), "pat@y.example/0003"), 1);
    EXPECT_TRUE(server_.portal().Resent().empty());
    EXPECT_TRUE(server_.portal().LoggedOut().empty());
    EXPECT_TRUE(server_.portal().Unlocked().empty());
  }
  // A recipient purge by `token` leaves tenant b's portal messages alone.
  void ExpectPortalRecipientPurgeFiltered(const std::string& token) {
    auto purged = server_.Call("DELETE", "/v1/portal/recipients/pat@y.example", token);
    EXPECT_EQ(purged.status, 200) << purged.body;
    EXPECT_EQ(Json::parse(purged.body)["messages"], 0) << purged.body;
    auto listed = server_.Call("GET", "/v1/portal/messages", token);
    EXPECT_EQ(listed.body.find("b.example"), std::string::npos) << listed.body;
  }

  AdminTestServer server_;
  std::string bob_cert_ = server_.CertificateOf("bob@b.example");
};

TEST_F(AdminIsolationTest, EveryRouteWithAnObjectCoversTheIsolationCheck) {
  // Collections without an object in the path are checked by the list tests;
  // creating a tenant with a taken id by OwnObjectsAnswerFor... (409).
  const std::set<std::string> lists = {"GET /v1/whoami",  "GET /v1/resellers", "POST /v1/resellers",
                                       "GET /v1/tenants", "GET /v1/domains",   "POST /v1/domains",
                                       "GET /v1/certificates", "GET /v1/trust", "GET /v1/audit",
                                       "POST /v1/tenants"};
  // Purges only the caller's messages of the recipient (ExpectPortalRecipientPurgeFiltered).
  const std::set<std::string> filtered = {"DELETE /v1/portal/recipients/{recipient}"};
  std::set<std::string> covered;
  for (const auto& c : CasesOnTenantB(bob_cert_)) covered.insert(c.route);
  for (const auto& c : SuperOnlyCases("")) covered.insert(c.route);
  for (const auto& r : RouteTable()) {
    const std::string route = r.method + " " + r.path;
    EXPECT_TRUE(covered.count(route) == 1 || lists.count(route) == 1 ||
                filtered.count(route) == 1)
        << route << " has no isolation case in admin_isolation_test.cc";
  }
}

TEST_F(AdminIsolationTest, TenantTokenGetsNotFoundForAnotherTenantsObjects) {
  ExpectHidden(server_.Token("tenant:a"), CasesOnTenantB(bob_cert_));
  ExpectPortalRecipientPurgeFiltered(server_.Token("tenant:a"));
  ExpectTenantBUntouched();
}

TEST_F(AdminIsolationTest, ResellerTokenGetsNotFoundForAnotherResellersTenants) {
  ExpectHidden(server_.Token("reseller:r1"), CasesOnTenantB(bob_cert_));
  ExpectPortalRecipientPurgeFiltered(server_.Token("reseller:r1"));
  ExpectTenantBUntouched();
}

TEST_F(AdminIsolationTest, TrustChangesAndPartnerImportsAreSuperOnlyWhateverTheObject) {
  const std::string anchor = AnyAnchor();
  const size_t anchors = server_.ks().TrustSources()->anchors.size();
  ASSERT_TRUE(server_.ks().GlobalRulesSet({{"partner.example", "force_encrypt"}}).ok());
  ExpectForbidden(server_.Token("tenant:a"), SuperOnlyCases(anchor));
  ExpectForbidden(server_.Token("reseller:r1"), SuperOnlyCases(anchor));
  EXPECT_EQ(server_.ks().TrustSources()->anchors.size(), anchors);
  auto rules = server_.ks().GlobalRulesShow();
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 1u) << "the global rules are unchanged";
  EXPECT_EQ((*rules)[0].action, "force_encrypt");
  ExpectTenantBUntouched();
}

TEST_F(AdminIsolationTest, ListsAreFilteredToTheScope) {
  const std::string a = server_.Token("tenant:a");
  const std::string r1 = server_.Token("reseller:r1");
  const std::string super = server_.Token("super");
  using Set = std::set<std::string>;
  EXPECT_EQ(Field(server_.Call("GET", "/v1/tenants", a).body, "tenants", "id"), Set{"a"});
  EXPECT_EQ(Field(server_.Call("GET", "/v1/tenants", r1).body, "tenants", "id"), (Set{"a", "c"}));
  EXPECT_EQ(Field(server_.Call("GET", "/v1/tenants", super).body, "tenants", "id"),
            (Set{"a", "b", "c", "default"}));
  EXPECT_EQ(Field(server_.Call("GET", "/v1/resellers", a).body, "resellers", "id"), Set{});
  EXPECT_EQ(Field(server_.Call("GET", "/v1/resellers", r1).body, "resellers", "id"), Set{"r1"});
  EXPECT_EQ(Field(server_.Call("GET", "/v1/resellers", super).body, "resellers", "id"),
            (Set{"r1", "r2"}));
  EXPECT_EQ(Field(server_.Call("GET", "/v1/domains", a).body, "domains", "name"), Set{"a.example"});
  EXPECT_EQ(Field(server_.Call("GET", "/v1/domains", r1).body, "domains", "name"),
            (Set{"a.example", "c.example"}));
  EXPECT_EQ(Field(server_.Call("GET", "/v1/users", a).body, "users", "address"),
            Set{"ann@a.example"});
  EXPECT_EQ(Field(server_.Call("GET", "/v1/users", r1).body, "users", "address"),
            (Set{"ann@a.example", "cat@c.example"}));
  EXPECT_EQ(Field(server_.Call("GET", "/v1/users", super).body, "users", "address"),
            (Set{"ann@a.example", "bob@b.example", "cat@c.example"}));
  EXPECT_EQ(Field(server_.Call("GET", "/v1/certificates", a).body, "certificates", "owner"),
            Set{"ann@a.example"});
  EXPECT_EQ(Field(server_.Call("GET", "/v1/certificates", r1).body, "certificates", "owner"),
            (Set{"ann@a.example", "cat@c.example"}));
  // The audit trail: a tenant sees its own tokens' calls, a reseller also
  // its tenants', super everything.
  const Set tenant_roles = Field(server_.Call("GET", "/v1/audit?limit=1000", a).body, "records", "role");
  EXPECT_EQ(tenant_roles, Set{"tenant:a"});
  const Set reseller_roles =
      Field(server_.Call("GET", "/v1/audit?limit=1000", r1).body, "records", "role");
  EXPECT_EQ(reseller_roles, (Set{"reseller:r1", "tenant:a"}));
  const Set super_roles =
      Field(server_.Call("GET", "/v1/audit?limit=1000", super).body, "records", "role");
  EXPECT_TRUE(super_roles.count("reseller:r1") == 1 && super_roles.count("tenant:a") == 1 &&
              super_roles.count("super") == 1);
}

TEST_F(AdminIsolationTest, OwnObjectsAnswerForTenantResellerAndSuper) {
  const std::string a = server_.Token("tenant:a");
  const std::string r1 = server_.Token("reseller:r1");
  const std::string super = server_.Token("super");
  EXPECT_EQ(server_.Call("GET", "/v1/tenants/a", a).status, 200);
  EXPECT_EQ(server_.Call("GET", "/v1/tenants/c", r1).status, 200);
  EXPECT_EQ(server_.Call("GET", "/v1/resellers/r1", r1).status, 200);
  EXPECT_EQ(server_.Call("GET", "/v1/tenants/b", super).status, 200);
  EXPECT_EQ(server_.Call("GET", "/v1/certificates/" + bob_cert_, super).status, 200);
  const std::string ann_cert = server_.CertificateOf("ann@a.example");
  auto cert = server_.Call("GET", "/v1/certificates/" + ann_cert, a);
  ASSERT_EQ(cert.status, 200) << cert.body;
  EXPECT_NE(Json::parse(cert.body)["pem"].get<std::string>().find("BEGIN CERTIFICATE"),
            std::string::npos);
  // Changes within the scope.
  auto added = server_.Call("POST", "/v1/users", a, R"({"address":"dan@a.example"})");
  EXPECT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(Json::parse(added.body)["tenant"], "a");
  auto disabled = server_.Call("POST", "/v1/users/dan@a.example/disable", a);
  EXPECT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_FALSE(Json::parse(disabled.body)["participating"].get<bool>());
  auto rolled = server_.Call("POST", "/v1/users/ann@a.example/keys/rollover", a);
  EXPECT_EQ(rolled.status, 200) << rolled.body;
  EXPECT_NE(server_.CertificateOf("ann@a.example"), ann_cert);
  EXPECT_EQ(server_.Call("DELETE", "/v1/users/dan@a.example", a).status, 204);
  EXPECT_EQ(server_.Call("GET", "/v1/users/dan@a.example", a).status, 404);
  auto domain = server_.Call("POST", "/v1/domains", a, R"({"name":"A2.example"})");
  EXPECT_EQ(domain.status, 201) << domain.body;
  EXPECT_EQ(Json::parse(domain.body)["tenant"], "a");
  EXPECT_EQ(server_.Call("DELETE", "/v1/domains/a2.example", a).status, 204);
  // A reseller adds tenants of its own only; a tenant cannot add any.
  auto tenant = server_.Call("POST", "/v1/tenants", r1, R"({"id":"d","name":"Tenant D"})");
  EXPECT_EQ(tenant.status, 201) << tenant.body;
  EXPECT_EQ(Json::parse(tenant.body)["reseller"], "r1");
  EXPECT_EQ(server_.Call("POST", "/v1/tenants", r1, R"({"id":"e","reseller":"r2"})").status, 403);
  EXPECT_EQ(server_.Call("POST", "/v1/tenants", r1, R"({"id":"b"})").status, 409);
  EXPECT_EQ(server_.Call("POST", "/v1/tenants", a, R"({"id":"e"})").status, 403);
  EXPECT_EQ(server_.Call("POST", "/v1/domains", r1, R"({"name":"b.example","tenant":"a"})").status,
            409);
  EXPECT_EQ(server_.Call("POST", "/v1/resellers", r1, R"({"id":"r3"})").status, 403);
  EXPECT_EQ(server_.Call("POST", "/v1/resellers", super, R"({"id":"r3"})").status, 201);
  EXPECT_EQ(server_.Call("DELETE", "/v1/tenants/d", r1).status, 204);
  ExpectTenantBUntouched();
}

// Who may change what (docs/tenants.md "Policy"): a tenant token its own
// rules, web encryption, tags and branding; the CA backend only a reseller
// or super token. Every change is in the audit trail.
TEST_F(AdminIsolationTest, TenantPolicyAndBrandingRights) {
  const std::string a = server_.Token("tenant:a");
  const std::string r1 = server_.Token("reseller:r1");
  const std::string super = server_.Token("super");
  auto set = server_.Call("PUT", "/v1/tenants/a/policy", a,
                          R"({"web_encryption":"off","rules":[{"match":"Partner.example"}],)"
                          R"("tags_off":["plain"],"obscure_subject":"on"})");
  ASSERT_EQ(set.status, 200) << set.body;
  Json p = Json::parse(set.body);
  EXPECT_EQ(p["obscure_subject"], "on") << "RFC 9788 outer Subject, the tenant's to choose";
  EXPECT_EQ(p["rules"][0]["match"], "partner.example");
  EXPECT_EQ(p["rules"][0]["action"], "force_encrypt");
  EXPECT_EQ(p["ca_backend"], "inherit");
  auto ca = server_.Call("PUT", "/v1/tenants/a/policy", a, R"({"ca_backend":"default"})");
  EXPECT_EQ(ca.status, 403) << ca.body;
  auto bad = server_.Call("PUT", "/v1/tenants/a/policy", a, R"({"web_encryption":"maybe"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("web_encryption"), std::string::npos);
  auto by_reseller = server_.Call("PUT", "/v1/tenants/a/policy", r1, R"({"ca_backend":"default"})");
  ASSERT_EQ(by_reseller.status, 200) << by_reseller.body;
  EXPECT_EQ(Json::parse(by_reseller.body)["rules"].size(), 1u) << "absent members stay";
  EXPECT_EQ(Json::parse(by_reseller.body)["obscure_subject"], "on") << "stored and read back";
  // The tenant's DELETE clears what it may change; the CA backend stays.
  EXPECT_EQ(server_.Call("DELETE", "/v1/tenants/a/policy", a).status, 204);
  Json kept = Json::parse(server_.Call("GET", "/v1/tenants/a/policy", a).body);
  EXPECT_EQ(kept["ca_backend"], "default");
  EXPECT_EQ(kept["rules"].size(), 0u);
  EXPECT_EQ(server_.Call("DELETE", "/v1/tenants/a/policy", super).status, 204);
  EXPECT_EQ(Json::parse(server_.Call("GET", "/v1/tenants/a/policy", a).body)["ca_backend"],
            "inherit");

  // Branding: a PNG logo in base64, its type from the content.
  auto brand = server_.Call("PUT", "/v1/tenants/a/branding", a,
                            R"({"product_name":"A Mail","color":"#0A5FB4",)"
                            R"("logo":"iVBORw0KGgoAAAAA"})");
  ASSERT_EQ(brand.status, 200) << brand.body;
  Json b = Json::parse(brand.body);
  EXPECT_EQ(b["color"], "#0a5fb4");
  EXPECT_EQ(b["logo_type"], "image/png");
  EXPECT_EQ(server_.Call("PUT", "/v1/tenants/a/branding", a, R"({"color":"blue"})").status, 400);
  EXPECT_EQ(server_.Call("PUT", "/v1/tenants/a/branding", a, R"({"logo":"%%%"})").status, 400);
  EXPECT_EQ(server_.Call("DELETE", "/v1/tenants/a/branding", a).status, 204);
  EXPECT_EQ(Json::parse(server_.Call("GET", "/v1/tenants/a/branding", a).body)["product_name"], "");

  const std::string audit = server_.Call("GET", "/v1/audit?limit=1000", super).body;
  EXPECT_NE(audit.find("PUT /v1/tenants/{id}/policy"), std::string::npos);
  EXPECT_NE(audit.find("DELETE /v1/tenants/{id}/branding"), std::string::npos);
}

// The registry's global rules with a super token (docs/admin-api.md "Global
// policy rules"): replace, add, change in place, remove, the keyservice's
// checks as 400, a missing rule 404, every change audited.
TEST_F(AdminIsolationTest, GlobalRulesWithASuperToken) {
  const std::string super = server_.Token("super");
  auto empty = server_.Call("GET", "/v1/policy/rules", super);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(Json::parse(empty.body)["rules"].size(), 0u);
  auto set = server_.Call("PUT", "/v1/policy/rules", super,
                          R"({"rules":[{"match":"Partner.example"},)"
                          R"({"match":"ceo@other.example","action":"exempt"}]})");
  ASSERT_EQ(set.status, 200) << set.body;
  Json j = Json::parse(set.body);
  ASSERT_EQ(j["rules"].size(), 2u);
  EXPECT_EQ(j["rules"][0]["match"], "partner.example");
  EXPECT_EQ(j["rules"][0]["action"], "force_encrypt");
  auto added = server_.Call("POST", "/v1/policy/rules", super, R"({"match":"third.example"})");
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(Json::parse(added.body)["rules"][2]["match"], "third.example");
  auto changed = server_.Call("POST", "/v1/policy/rules", super,
                              R"({"match":"partner.example","action":"exempt"})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(Json::parse(changed.body)["rules"].size(), 3u);
  EXPECT_EQ(Json::parse(changed.body)["rules"][0]["action"], "exempt");
  EXPECT_EQ(server_.Call("DELETE", "/v1/policy/rules/ceo%40other.example", super).status, 204);
  auto missing = server_.Call("DELETE", "/v1/policy/rules/ceo@other.example", super);
  EXPECT_EQ(missing.status, 404) << missing.body;
  auto bad = server_.Call("POST", "/v1/policy/rules", super, R"({"match":"a b","action":"x"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("global rule match"), std::string::npos) << bad.body;
  auto no_rules = server_.Call("PUT", "/v1/policy/rules", super, R"({"rule":[]})");
  EXPECT_EQ(no_rules.status, 400) << no_rules.body;
  auto wrong_type = server_.Call("PUT", "/v1/policy/rules", super, R"({"rules":"x.example"})");
  EXPECT_EQ(wrong_type.status, 400) << wrong_type.body;
  auto listed = Json::parse(server_.Call("GET", "/v1/policy/rules", super).body);
  ASSERT_EQ(listed["rules"].size(), 2u) << listed;
  auto table = server_.ks().TenantRouting();
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->global_rules.size(), 2u) << "what the workers follow";
  const std::string audit = server_.Call("GET", "/v1/audit?limit=1000", super).body;
  EXPECT_NE(audit.find("PUT /v1/policy/rules"), std::string::npos);
  EXPECT_NE(audit.find("DELETE /v1/policy/rules/{match}"), std::string::npos);
}

}  // namespace
}  // namespace sg::admin
