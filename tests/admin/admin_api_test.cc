// The admin REST API's tokens, errors and limits: 401 without or with a bad,
// malformed or revoked token (same body, WWW-Authenticate), token records
// hashed at rest, audit records naming the token and its scope, JSON errors
// for bad JSON, wrong types, oversized and chunked bodies, unknown paths
// and methods.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;

std::string Code(const std::string& body) {
  auto j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("error")) return "<not an error body: " + body + ">";
  EXPECT_TRUE(j["error"]["message"].is_string()) << body;
  return j["error"]["code"].get<std::string>();
}

TEST(AdminApiTest, RequestsWithoutAValidTokenAreUnauthenticated) {
  AdminTestServer server;
  const std::string good = server.Token("super");
  auto ok = server.Call("GET", "/v1/tenants", good);
  EXPECT_EQ(ok.status, 200) << ok.body;

  std::string wrong_secret = good;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  const std::string unknown_id = "sgt_0000000000000000_" + std::string(64, 'a');
  auto none = server.Call("GET", "/v1/tenants", "");
  for (const std::string& bad : {wrong_secret, unknown_id, std::string("sgt_"), std::string("x"),
                                 good.substr(0, good.size() - 1)}) {
    SCOPED_TRACE(bad);
    auto r = server.Call("GET", "/v1/tenants", bad);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, none.body);  // nothing tells a wrong secret from an unknown id
    EXPECT_EQ(r.www_authenticate, "Bearer realm=\"smimegate\"");
    EXPECT_EQ(Code(r.body), "unauthenticated");
  }
  EXPECT_EQ(none.status, 401);
  // Unknown paths answer 401 too without a token: the route table is not probed.
  EXPECT_EQ(server.Call("GET", "/v1/nothing", "").status, 401);
}

TEST(AdminApiTest, TokenLifecycleStoresOnlyTheHashAndRevokes) {
  AdminTestServer server;
  auto added = server.tokens().Add("tenant:a", "ops");
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  const std::string token = added->token;
  EXPECT_EQ(token.size(), 4u + 16 + 1 + 64);
  EXPECT_EQ(token.rfind("sgt_" + added->info.id + "_", 0), 0u);
  // The secret is nowhere in the store; its SHA-256 is.
  auto raw = server.ks().store().GetMeta("admintoken/" + added->info.id);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ((*raw)->find(token.substr(21)), std::string::npos) << **raw;
  EXPECT_EQ(Json::parse(**raw)["sha256"].get<std::string>().size(), 64u);

  auto who = server.Call("GET", "/v1/whoami", token);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(Json::parse(who.body)["scope"], "tenant:a");
  EXPECT_EQ(Json::parse(who.body)["id"], added->info.id);

  ASSERT_TRUE(server.tokens().Revoke(added->info.id).ok());
  EXPECT_EQ(server.Call("GET", "/v1/whoami", token).status, 401);
  auto list = server.tokens().List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_NE((*list)[0].revoked_at, 0);
  EXPECT_EQ((*list)[0].name, "ops");
  EXPECT_EQ(server.tokens().Revoke("0123456789abcdef").error().code, ErrorCode::kNotFound);

  // Scopes name existing resellers and tenants.
  EXPECT_EQ(server.tokens().Add("tenant:nope", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(server.tokens().Add("reseller:nope", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(server.tokens().Add("admin", "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(server.tokens().Add("tenant:Bad Id", "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(server.tokens().Add("reseller:r1", "").ok());
}

TEST(AdminApiTest, EveryCallLeavesAnAuditRecordNamingTheToken) {
  AdminTestServer server;
  auto added = server.tokens().Add("reseller:r1", "billing");
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(server.Call("GET", "/v1/tenants/b", added->token).status, 404);
  EXPECT_EQ(server.Call("GET", "/v1/tenants", "sgt_bad").status, 401);
  auto records = server.ks().ListAudit(0, 100);
  ASSERT_TRUE(records.ok());
  ASSERT_GE(records->size(), 2u);
  const auto& hidden = (*records)[records->size() - 2];
  EXPECT_EQ(hidden.subject, "token:" + added->info.id + " (billing)");
  EXPECT_EQ(hidden.role, "reseller:r1");
  EXPECT_EQ(hidden.method, "AdminApi/GET /v1/tenants/{id}");
  EXPECT_EQ(hidden.arguments, "/v1/tenants/b");
  EXPECT_EQ(hidden.result, "NOT_FOUND");
  const auto& refused = records->back();
  EXPECT_EQ(refused.subject, "token:-");
  EXPECT_EQ(refused.result, "UNAUTHENTICATED");
}

TEST(AdminApiTest, BadBodiesPathsAndMethodsGetJsonErrors) {
  AdminTestServer server(/*max_body_bytes=*/4096);
  const std::string super = server.Token("super");
  struct Bad {
    std::string method, path, body, content_type;
    int status;
    std::string code;
  };
  const std::vector<Bad> cases = {
      {"POST", "/v1/tenants", "{\"id\":", "application/json", 400, "invalid_argument"},
      {"POST", "/v1/tenants", "[1,2]", "application/json", 400, "invalid_argument"},
      {"POST", "/v1/tenants", R"({"id":42})", "application/json", 400, "invalid_argument"},
      {"POST", "/v1/tenants", R"({"id":"Not Valid!"})", "application/json", 400,
       "invalid_argument"},
      {"POST", "/v1/users", R"({"address":"x@a.example","participating":"yes"})",
       "application/json", 400, "invalid_argument"},
      {"POST", "/v1/tenants", R"({"id":"x"})", "text/plain", 415, "unsupported_media_type"},
      {"POST", "/v1/tenants", R"({"id":")" + std::string(5000, 'x') + R"("})", "application/json",
       413, "payload_too_large"},
      {"GET", "/v1/nothing", "", "", 404, "no_route"},
      {"GET", "/v1/users/%zz", "", "", 404, "no_route"},
      {"PUT", "/v1/tenants", "{}", "application/json", 405, "method_not_allowed"},
      {"GET", "/v1/audit?limit=0", "", "", 400, "invalid_argument"},
      {"GET", "/v1/audit?since=abc", "", "", 400, "invalid_argument"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body.substr(0, 40));
    auto r = server.Call(c.method, c.path, super, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(Code(r.body), c.code);
  }
  auto not_allowed = server.Call("PATCH", "/v1/tenants/a", super, "{}");
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(not_allowed.allow, "GET, DELETE");
  // The server still answers after all that.
  EXPECT_EQ(server.Call("GET", "/v1/tenants/a", super).status, 200);
}

}  // namespace
}  // namespace sg::admin

namespace sg::admin {
namespace {

// POST /v1/users: a user belongs to its domain's tenant. "tenant" may be
// left out or name that tenant; any other answers the same 400 whether the
// named tenant exists or not (no existence leak to a tenant token).
TEST(AdminApiTest, AUsersTenantIsItsDomainsTenant) {
  AdminTestServer server;
  const std::string a = server.Token("tenant:a");
  const std::string super = server.Token("super");
  auto plain = server.Call("POST", "/v1/users", a, R"({"address":"new1@a.example"})");
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_EQ(Json::parse(plain.body)["tenant"], "a");
  auto own = server.Call("POST", "/v1/users", a, R"({"address":"new2@a.example","tenant":"a"})");
  EXPECT_EQ(own.status, 201) << own.body;
  auto other = server.Call("POST", "/v1/users", a, R"({"address":"new3@a.example","tenant":"b"})");
  auto missing =
      server.Call("POST", "/v1/users", a, R"({"address":"new3@a.example","tenant":"zz"})");
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_NE(other.body.find("must be the tenant of domain a.example (a)"), std::string::npos)
      << other.body;
  EXPECT_EQ(Json::parse(other.body)["error"]["message"].get<std::string>().find("zz"),
            std::string::npos);
  EXPECT_EQ(Json::parse(missing.body)["error"]["message"],
            Json::parse(other.body)["error"]["message"]);
  EXPECT_EQ(server.Call("POST", "/v1/users", super, R"({"address":"new4@b.example","tenant":"a"})")
                .status,
            400);
  EXPECT_EQ(server.Call("GET", "/v1/users/new3@a.example", super).status, 404);
}

}  // namespace
}  // namespace sg::admin
