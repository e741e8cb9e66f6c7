// DKIM keys over the admin REST API (docs/dkim.md): a tenant generates,
// lists, activates and removes its own domain's keys; another tenant's
// domain is a 404 (as if it did not exist) and nothing changes there; every
// call is audited.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;

TEST(AdminDkimApiTest, ATenantManagesItsOwnDomainsKeys) {
  AdminTestServer server;
  const std::string a = server.Token("tenant:a");
  auto made = server.Call("POST", "/v1/domains/a.example/dkim", a,
                          R"({"selector":"s1","algorithm":"ed25519"})");
  ASSERT_EQ(made.status, 201) << made.body;
  Json k = Json::parse(made.body);
  EXPECT_EQ(k["state"], "published");
  EXPECT_EQ(k["record_name"], "s1._domainkey.a.example");
  EXPECT_EQ(k["zone_line"].get<std::string>().rfind(
                "s1._domainkey.a.example IN TXT \"v=DKIM1; k=ed25519; p=", 0),
            0u)
      << k.dump();
  EXPECT_EQ(server.Call("POST", "/v1/domains/a.example/dkim", a, R"({"selector":"s1"})").status,
            409);
  EXPECT_EQ(server.Call("POST", "/v1/domains/a.example/dkim", a, R"({"algorithm":"dsa"})").status,
            400);
  auto active = server.Call("POST", "/v1/domains/a.example/dkim/s1/activate", a);
  ASSERT_EQ(active.status, 200) << active.body;
  EXPECT_EQ(Json::parse(active.body)["state"], "active");
  auto listed = server.Call("GET", "/v1/domains/a.example/dkim", a);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json::parse(listed.body)["keys"].size(), 1u);
  EXPECT_EQ(server.Call("DELETE", "/v1/domains/a.example/dkim/s1", a).status, 400);  // active
  ASSERT_TRUE(server.ks().GetDkimKey("a.example")->has_value());

  auto audit = server.ks().ListAudit(0, 1000);
  ASSERT_TRUE(audit.ok());
  bool audited = false;
  for (const auto& r : *audit) {
    audited |= r.method == "AdminApi/POST /v1/domains/{name}/dkim/{selector}/activate";
  }
  EXPECT_TRUE(audited);
}

TEST(AdminDkimApiTest, AnotherTenantsDomainIsNotFound) {
  AdminTestServer server;
  const std::string a = server.Token("tenant:a");
  const std::string b = server.Token("tenant:b");
  ASSERT_EQ(server.Call("POST", "/v1/domains/b.example/dkim", b, R"({"selector":"bs"})").status,
            201);
  EXPECT_EQ(server.Call("GET", "/v1/domains/b.example/dkim", a).status, 404);
  EXPECT_EQ(server.Call("POST", "/v1/domains/b.example/dkim", a, R"({"selector":"x"})").status,
            404);
  EXPECT_EQ(server.Call("POST", "/v1/domains/b.example/dkim/bs/activate", a).status, 404);
  EXPECT_EQ(server.Call("DELETE", "/v1/domains/b.example/dkim/bs", a).status, 404);
  // The same answer as a domain nobody hosts.
  EXPECT_EQ(server.Call("GET", "/v1/domains/nobody.example/dkim", a).status, 404);
  // Nothing changed at b.
  auto keys = server.ks().DkimList("b.example");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].state, "published");
  // The super token sees it.
  const std::string super = server.Token("super");
  EXPECT_EQ(server.Call("GET", "/v1/domains/b.example/dkim", super).status, 200);
}

}  // namespace
}  // namespace sg::admin
