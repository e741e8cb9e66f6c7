// The portal's stored messages over the admin REST API (/v1/portal,
// admin_handlers_portal.cc) against a FakePortalAdmin: lists filtered to
// the token's tenants, purges and link resends only of the caller's
// messages, super-only account deletion and expiry, 503 without a portal
// (or when it does not answer), and an audit record for every change.
// The 404-for-foreign-objects cases are in admin_isolation_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using Set = std::set<std::string>;
using testing::AdminTestServer;

// "recipient/id" of every message of a list answer.
Set Listed(const std::string& body) {
  Set out;
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("messages")) return {"<no messages in " + body + ">"};
  for (const auto& m : j["messages"]) {
    out.insert(m["recipient"].get<std::string>() + "/" + m["id"].get<std::string>());
  }
  return out;
}

class AdminPortalApiTest : public ::testing::Test {
 protected:
  std::vector<std::string> Keys() { return server_.portal().Keys(); }

  AdminTestServer server_;
  const std::string super_ = server_.Token("super");
  const std::string a_ = server_.Token("tenant:a");
  const std::string b_ = server_.Token("tenant:b");
  const std::string r1_ = server_.Token("reseller:r1");
};

TEST_F(AdminPortalApiTest, ListsOnlyMessagesSentFromTheTokensTenants) {
  EXPECT_EQ(Listed(server_.Call("GET", "/v1/portal/messages", super_).body),
            (Set{"partner@x.example/0001", "partner@x.example/0002", "pat@y.example/0003",
                 "partner@x.example/0004"}));
  EXPECT_EQ(Listed(server_.Call("GET", "/v1/portal/messages", a_).body),
            Set{"partner@x.example/0001"});
  EXPECT_EQ(Listed(server_.Call("GET", "/v1/portal/messages", b_).body),
            (Set{"partner@x.example/0002", "pat@y.example/0003"}));
  EXPECT_EQ(Listed(server_.Call("GET", "/v1/portal/messages", r1_).body),
            (Set{"partner@x.example/0001", "partner@x.example/0004"}));
  // Filters: by recipient (still within the scope) and by sending domain.
  EXPECT_EQ(Listed(server_.Call("GET", "/v1/portal/messages?recipient=partner@x.example", b_).body),
            Set{"partner@x.example/0002"});
  EXPECT_EQ(Listed(server_.Call("GET", "/v1/portal/messages?domain=c.example", r1_).body),
            Set{"partner@x.example/0004"});
  auto one = server_.Call("GET", "/v1/portal/messages?limit=1", super_);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Listed(one.body).size(), 1u);
  EXPECT_TRUE(Json::parse(one.body)["truncated"].get<bool>());
  auto m = Json::parse(server_.Call("GET", "/v1/portal/messages", a_).body)["messages"][0];
  EXPECT_EQ(m["sender"], "ann@a.example");
  EXPECT_EQ(m["sender_domain"], "a.example");
  EXPECT_EQ(m["stored_at"], 1'700'000'000);
  EXPECT_EQ(server_.Call("GET", "/v1/portal/messages?limit=0", super_).status, 400);
}

TEST_F(AdminPortalApiTest, TenantPurgesAndResendsOnlyItsOwnMessages) {
  // Tenant b cannot reach tenant a's message (404, nothing changes) ...
  EXPECT_EQ(server_.Call("DELETE", "/v1/portal/messages/partner@x.example/0001", b_).status, 404);
  EXPECT_EQ(
      server_.Call("POST", "/v1/portal/messages/partner@x.example/0001/resend-link", b_).status,
      404);
  EXPECT_EQ(Keys().size(), 4u);
  EXPECT_TRUE(server_.portal().Resent().empty());
  // ... tenant a can.
  auto resent = server_.Call("POST", "/v1/portal/messages/partner@x.example/0001/resend-link", a_);
  ASSERT_EQ(resent.status, 200) << resent.body;
  EXPECT_EQ(server_.portal().Resent(), std::vector<std::string>{"partner@x.example/0001"});
  auto purged = server_.Call("DELETE", "/v1/portal/messages/partner@x.example/0001", a_);
  ASSERT_EQ(purged.status, 200) << purged.body;
  EXPECT_EQ(Json::parse(purged.body)["messages"], 1);
  EXPECT_EQ(Keys(), (std::vector<std::string>{"partner@x.example/0002", "partner@x.example/0004",
                                              "pat@y.example/0003"}));
  // A message that is gone answers like a foreign one.
  EXPECT_EQ(server_.Call("DELETE", "/v1/portal/messages/partner@x.example/0001", a_).status, 404);
  EXPECT_EQ(server_.Call("DELETE", "/v1/portal/messages/partner@x.example/0001", super_).status,
            404);
}

TEST_F(AdminPortalApiTest, RecipientPurgeRemovesOnlyTheCallersMessages) {
  auto purged = server_.Call("DELETE", "/v1/portal/recipients/partner@x.example", b_);
  ASSERT_EQ(purged.status, 200) << purged.body;
  EXPECT_EQ(Json::parse(purged.body)["messages"], 1);
  EXPECT_EQ(Keys(), (std::vector<std::string>{"partner@x.example/0001", "partner@x.example/0004",
                                              "pat@y.example/0003"}));
  // The recipient's portal account serves every tenant: super only.
  EXPECT_EQ(
      server_.Call("DELETE", "/v1/portal/recipients/partner@x.example?account=true", r1_).status,
      403);
  EXPECT_TRUE(server_.portal().DeletedAccounts().empty());
  EXPECT_EQ(server_.Call("DELETE", "/v1/portal/recipients/partner@x.example?account=maybe", super_)
                .status,
            400);
  auto all = server_.Call("DELETE", "/v1/portal/recipients/partner@x.example?account=true", super_);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Json::parse(all.body)["messages"], 2);
  EXPECT_TRUE(Json::parse(all.body)["account_deleted"].get<bool>());
  EXPECT_EQ(Keys(), std::vector<std::string>{"pat@y.example/0003"});
}

TEST_F(AdminPortalApiTest, ExpiryNowIsForSuperTokens) {
  EXPECT_EQ(server_.Call("POST", "/v1/portal/purge-expired", a_).status, 403);
  EXPECT_EQ(server_.Call("POST", "/v1/portal/purge-expired", r1_).status, 403);
  EXPECT_EQ(server_.portal().expiry_runs(), 0);
  auto run = server_.Call("POST", "/v1/portal/purge-expired", super_);
  EXPECT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(server_.portal().expiry_runs(), 1);
}

TEST_F(AdminPortalApiTest, UnreachablePortalAnswers503) {
  server_.portal().SetUnreachable(true);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/portal/messages"},
           {"DELETE", "/v1/portal/messages/partner@x.example/0001"},
           {"DELETE", "/v1/portal/recipients/partner@x.example"},
           {"POST", "/v1/portal/purge-expired"}}) {
    auto r = server_.Call(method, path, super_);
    EXPECT_EQ(r.status, 503) << method << " " << path << ": " << r.body;
    EXPECT_NE(r.body.find("unreachable"), std::string::npos) << r.body;
  }
}

TEST_F(AdminPortalApiTest, ChangesAreAudited) {
  ASSERT_EQ(server_.Call("DELETE", "/v1/portal/messages/pat@y.example/0003", b_).status, 200);
  ASSERT_EQ(
      server_.Call("POST", "/v1/portal/messages/partner@x.example/0002/resend-link", b_).status,
      200);
  const std::string audit = server_.Call("GET", "/v1/audit?limit=1000", super_).body;
  EXPECT_NE(audit.find("DELETE /v1/portal/messages/{recipient}/{id}"), std::string::npos) << audit;
  EXPECT_NE(audit.find("/v1/portal/messages/pat@y.example/0003"), std::string::npos);
  EXPECT_NE(audit.find("POST /v1/portal/messages/{recipient}/{id}/resend-link"), std::string::npos);
}

TEST_F(AdminPortalApiTest, AccountStateIsShownWithoutSecretsAndCountedInTheScope) {
  auto all = server_.Call("GET", "/v1/portal/recipients/partner@x.example", super_);
  ASSERT_EQ(all.status, 200) << all.body;
  const Json j = Json::parse(all.body);
  EXPECT_EQ(j["recipient"], "partner@x.example");
  EXPECT_TRUE(j["account"].get<bool>());
  EXPECT_EQ(j["created_at"], 1'700'000'000);
  EXPECT_EQ(j["last_login_at"], 1'700'000'100);
  EXPECT_TRUE(j["totp"].get<bool>());
  EXPECT_FALSE(j["certificate"].get<bool>());
  EXPECT_EQ(j["language"], "de");
  EXPECT_EQ(j["domain"], "a.example");
  EXPECT_TRUE(j["locked"].get<bool>());
  EXPECT_EQ(j["locked_until"], 1'700'003'600);
  EXPECT_EQ(j["failed_logins"], 20);
  EXPECT_EQ(j["messages"], 3);
  EXPECT_EQ(all.body.find("password_hash"), std::string::npos) << all.body;
  // Tenant b counts its one message and does not learn tenant a's domain.
  auto b = Json::parse(server_.Call("GET", "/v1/portal/recipients/partner@x.example", b_).body);
  EXPECT_EQ(b["messages"], 1) << b;
  EXPECT_EQ(b["domain"], "") << b;
  auto a = Json::parse(server_.Call("GET", "/v1/portal/recipients/partner@x.example", a_).body);
  EXPECT_EQ(a["domain"], "a.example") << a;
  // Messages, no account; neither (404, also for a super token).
  auto pat = server_.Call("GET", "/v1/portal/recipients/pat@y.example", super_);
  ASSERT_EQ(pat.status, 200) << pat.body;
  EXPECT_FALSE(Json::parse(pat.body)["account"].get<bool>());
  EXPECT_TRUE(Json::parse(pat.body)["last_login_at"].is_null());
  EXPECT_EQ(server_.Call("GET", "/v1/portal/recipients/nobody@z.example", super_).status, 404);
  EXPECT_EQ(server_.Call("GET", "/v1/portal/recipients/pat@y.example", a_).status, 404);
}

TEST_F(AdminPortalApiTest, LogoutAndUnlockReachTheCallersRecipientsOnly) {
  EXPECT_EQ(server_.Call("POST", "/v1/portal/recipients/pat@y.example/logout", a_).status, 404);
  EXPECT_TRUE(server_.portal().LoggedOut().empty());
  auto out = server_.Call("POST", "/v1/portal/recipients/partner@x.example/logout", b_);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(server_.portal().LoggedOut(), std::vector<std::string>{"partner@x.example"});
  // No account: nothing to log out.
  EXPECT_EQ(server_.Call("POST", "/v1/portal/recipients/pat@y.example/logout", super_).status, 404);
  EXPECT_EQ(server_.portal().LoggedOut().size(), 1u);
  auto unlocked = server_.Call("POST", "/v1/portal/recipients/partner@x.example/unlock", r1_);
  ASSERT_EQ(unlocked.status, 200) << unlocked.body;
  EXPECT_FALSE(Json::parse(unlocked.body)["locked"].get<bool>()) << unlocked.body;
  EXPECT_TRUE(Json::parse(unlocked.body)["locked_until"].is_null()) << unlocked.body;
  EXPECT_EQ(server_.portal().Unlocked(), std::vector<std::string>{"partner@x.example"});
  const std::string audit = server_.Call("GET", "/v1/audit?limit=1000", super_).body;
  EXPECT_NE(audit.find("POST /v1/portal/recipients/{recipient}/logout"), std::string::npos);
  EXPECT_NE(audit.find("POST /v1/portal/recipients/{recipient}/unlock"), std::string::npos);
  server_.portal().SetUnreachable(true);
  EXPECT_EQ(server_.Call("GET", "/v1/portal/recipients/partner@x.example", super_).status, 503);
}

// Without a portal (keyservice alone, no keyservice.admin_api.portal): 503
// naming the fix.
TEST(AdminPortalApiNoPortalTest, Answers503WithTheFix) {
  AdminTestServer server;
  server.SetPortal(nullptr);
  auto r = server.Call("GET", "/v1/portal/messages", server.Token("super"));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("keyservice.admin_api.portal.endpoint"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace sg::admin
