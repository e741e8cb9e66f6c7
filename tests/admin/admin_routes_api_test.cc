// A tenant's inbound route and relay-client bindings over the admin REST
// API: the tenant's own token reads both and sets its route (validated as
// smimegatectl's: bad hosts and TLS policies are 400 with the keyservice's
// message); only a super token binds or unbinds relay clients (a reseller
// or tenant token gets 403 and nothing changes), because a registry binding
// wins over the config file's and could capture another tenant's client.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;

TEST(AdminRoutesApiTest, TenantReadsAndSetsItsOwnRoute) {
  AdminTestServer server;
  const std::string a = server.Token("tenant:a");
  auto none = server.Call("GET", "/v1/tenants/a/route", a);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(Json::parse(none.body), Json::parse(R"({"tenant":"a","hosts":[],"tls":""})"));

  auto set = server.Call("PUT", "/v1/tenants/a/route", a,
                         R"({"hosts":["mx1.a.example:2525","[2001:db8::1]:25"],"tls":"Required"})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json::parse(set.body)["tls"], "required");
  auto stored = server.ks().TenantShow("a");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->route.hosts,
            (std::vector<std::string>{"mx1.a.example:2525", "[2001:db8::1]:25"}));
  EXPECT_EQ(stored->route.tls, "required");
  EXPECT_EQ(Json::parse(server.Call("GET", "/v1/tenants/a/route", a).body)["hosts"].size(), 2u);

  struct Bad {
    std::string body, message_part;
  };
  for (const auto& bad :
       std::vector<Bad>{{R"({"hosts":[]})", "host"},
                        {R"({"hosts":"mx.a.example"})", "\"hosts\" must be an array of strings"},
                        {R"({"hosts":[1]})", "\"hosts\" must be an array of strings"},
                        {R"({"hosts":["mx.a.example:99999"]})", "99999"},
                        {R"({"hosts":["mx.a.example"],"tls":"maybe"})", "maybe"}}) {
    SCOPED_TRACE(bad.body);
    auto r = server.Call("PUT", "/v1/tenants/a/route", a, bad.body);
    EXPECT_EQ(r.status, 400) << r.body;
    const std::string message = Json::parse(r.body)["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(bad.message_part), std::string::npos) << message;
  }
  EXPECT_EQ(server.ks().TenantShow("a")->route.hosts.size(), 2u);  // unchanged by the bad ones

  EXPECT_EQ(server.Call("DELETE", "/v1/tenants/a/route", a).status, 204);
  EXPECT_TRUE(server.ks().TenantShow("a")->route.hosts.empty());
}

TEST(AdminRoutesApiTest, OnlySuperBindsAndUnbindsRelayClients) {
  AdminTestServer server;
  const std::string a = server.Token("tenant:a");
  const std::string r2 = server.Token("reseller:r2");
  const std::string super = server.Token("super");
  // Everybody in scope reads b's bindings.
  auto listed = server.Call("GET", "/v1/tenants/b/bindings", r2);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(
      Json::parse(listed.body),
      Json::parse(R"({"bindings":[{"kind":"network","value":"192.0.2.0/24","tenant":"b"}]})"));
  EXPECT_EQ(server.Call("GET", "/v1/tenants/a/bindings", a).status, 200);

  // Not the tenant, not its reseller: 403, nothing changes.
  const std::string body = R"({"kind":"user","value":"b-exchange"})";
  EXPECT_EQ(server.Call("POST", "/v1/tenants/b/bindings", r2, body).status, 403);
  EXPECT_EQ(server.Call("POST", "/v1/tenants/a/bindings", a, body).status, 403);
  EXPECT_EQ(server.Call("DELETE", "/v1/tenants/b/bindings/network/192.0.2.0%2F24", r2).status, 403);
  auto b = server.ks().TenantShow("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->bindings.size(), 1u);
  EXPECT_TRUE(server.ks().TenantShow("a")->bindings.empty());

  // Super binds (201; again: 200), refuses malformed values and a client bound elsewhere.
  auto bound = server.Call("POST", "/v1/tenants/b/bindings", super, body);
  ASSERT_EQ(bound.status, 201) << bound.body;
  EXPECT_EQ(Json::parse(bound.body),
            Json::parse(R"({"kind":"user","value":"b-exchange","tenant":"b"})"));
  EXPECT_EQ(server.Call("POST", "/v1/tenants/b/bindings", super, body).status, 200);
  EXPECT_EQ(server.Call("POST", "/v1/tenants/a/bindings", super, body).status, 400);
  EXPECT_EQ(server
                .Call("POST", "/v1/tenants/b/bindings", super,
                      R"({"kind":"network","value":"10.0.0.0/33"})")
                .status,
            400);
  EXPECT_EQ(
      server.Call("POST", "/v1/tenants/b/bindings", super, R"({"kind":"ip","value":"x"})").status,
      400);
  EXPECT_EQ(server.ks().TenantShow("b")->bindings.size(), 2u);

  // Unbinding: the value percent-encoded; another tenant's binding is 404 there.
  EXPECT_EQ(server.Call("DELETE", "/v1/tenants/a/bindings/network/192.0.2.0%2F24", super).status,
            404);
  EXPECT_EQ(server.Call("DELETE", "/v1/tenants/b/bindings/network/192.0.2.0%2F24", super).status,
            204);
  EXPECT_EQ(server.Call("DELETE", "/v1/tenants/b/bindings/user/b-exchange", super).status, 204);
  EXPECT_TRUE(server.ks().TenantShow("b")->bindings.empty());
}

}  // namespace
}  // namespace sg::admin
