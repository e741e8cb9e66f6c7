// Usage over the admin REST API (GET /v1/usage, PUT
// /v1/domains/{name}/total-users): the report of `smimegatectl usage
// report` cut to the token's scope (a tenant its own rows, no reseller
// totals; a reseller its tenants and its own total), CSV as text/csv, and
// the admin-set total users (reseller or super; a tenant token may not
// change its billing input).
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/admin/admin_test_server.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;
using Set = std::set<std::string>;

class AdminUsageApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto taken = server_.ks().UsageSnapshot();
    ASSERT_TRUE(taken.ok()) << taken.error().ToString();
    const time_t now = std::chrono::system_clock::to_time_t(server_.clock().Now());
    struct tm tm {};
    gmtime_r(&now, &tm);
    std::array<char, 8> buf{};
    ASSERT_EQ(std::strftime(buf.data(), buf.size(), "%Y-%m", &tm), 7u);
    month_ = buf.data();
  }

  Json Report(const std::string& token, const std::string& filter = "") {
    auto r = server_.Call("GET", "/v1/usage?month=" + month_ + filter, token);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return Json::parse(r.body, nullptr, false);
  }

  static Set Ids(const Json& report, const std::string& list, const std::string& key) {
    Set out;
    if (!report.is_object() || !report.contains(list)) return {"<no " + list + ">"};
    for (const auto& e : report[list]) out.insert(e[key].get<std::string>());
    return out;
  }

  AdminTestServer server_;
  std::string month_;
};

TEST_F(AdminUsageApiTest, EachScopeSeesItsOwnPartOfTheReport) {
  const std::string a = server_.Token("tenant:a");
  const std::string r1 = server_.Token("reseller:r1");
  const std::string super = server_.Token("super");

  Json mine = Report(a);
  EXPECT_EQ(Ids(mine, "tenants", "tenant"), Set{"a"});
  EXPECT_EQ(Ids(mine, "domains", "domain"), Set{"a.example"});
  EXPECT_EQ(Ids(mine, "resellers", "reseller"), Set{});  // r1's total counts tenant c too
  EXPECT_EQ(Report(a, "&tenant=a")["tenants"].size(), 1u);

  Json reseller = Report(r1);
  EXPECT_EQ(Ids(reseller, "tenants", "tenant"), (Set{"a", "c"}));
  EXPECT_EQ(Ids(reseller, "resellers", "reseller"), Set{"r1"});
  EXPECT_EQ(reseller["resellers"][0]["billable_users"], 2);
  EXPECT_EQ(Ids(Report(r1, "&tenant=c"), "tenants", "tenant"), Set{"c"});

  EXPECT_EQ(Ids(Report(super), "tenants", "tenant"), (Set{"a", "b", "c", "default"}));
  EXPECT_EQ(Ids(Report(super, "&reseller=r2"), "tenants", "tenant"), Set{"b"});
  // The same report as smimegatectl's (one source: UsageAdmin::GetUsageReport).
  auto direct = server_.ks().GetUsageReport(month_, "", "");
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(Report(super), Json::parse(keyservice::UsageReportJson(*direct)));
}

TEST_F(AdminUsageApiTest, CsvAndBadQueries) {
  const std::string r1 = server_.Token("reseller:r1");
  auto csv = server_.Call("GET", "/v1/usage?format=csv&month=" + month_, r1);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.rfind("kind,month,id,", 0), 0u) << csv.body;
  EXPECT_NE(csv.body.find("\r\ntenant," + month_ + ",a,"), std::string::npos) << csv.body;
  EXPECT_EQ(csv.body.find(",b,"), std::string::npos) << csv.body;  // not r1's tenant
  struct Bad {
    std::string query, message_part;
  };
  for (const auto& bad :
       std::vector<Bad>{{"", "\"month\" is required"},
                        {"?month=2026-13", "2026-13"},
                        {"?month=" + month_ + "&format=xml", "json or csv"},
                        {"?month=" + month_ + "&tenant=a&reseller=r1", "not both"}}) {
    SCOPED_TRACE(bad.query);
    auto r = server_.Call("GET", "/v1/usage" + bad.query, r1);
    EXPECT_EQ(r.status, 400) << r.body;
    const std::string message = Json::parse(r.body)["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(bad.message_part), std::string::npos) << message;
  }
}

TEST_F(AdminUsageApiTest, TotalUsersAreSetByResellerOrSuperNotByTheTenant) {
  const std::string a = server_.Token("tenant:a");
  const std::string r1 = server_.Token("reseller:r1");
  auto refused =
      server_.Call("PUT", "/v1/domains/a.example/total-users", a, R"({"total_users":1})");
  EXPECT_EQ(refused.status, 403) << refused.body;
  ASSERT_TRUE(server_.ks().UsageSnapshot().ok());
  EXPECT_EQ(Report(a)["domains"][0]["total_users"], 0);  // the refused call changed nothing
  for (const std::string body : {R"({"total_users":-1})", R"({"total_users":"5"})", R"({})",
                                 R"({"total_users":10000001})"}) {
    EXPECT_EQ(server_.Call("PUT", "/v1/domains/a.example/total-users", r1, body).status, 400)
        << body;
  }
  auto set = server_.Call("PUT", "/v1/domains/A.example/total-users", r1, R"({"total_users":50})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json::parse(set.body), Json::parse(R"({"domain":"a.example","total_users":50})"));
  ASSERT_TRUE(server_.ks().UsageSnapshot().ok());
  Json report = Report(r1, "&tenant=a");
  ASSERT_EQ(report["domains"].size(), 1u) << report;
  EXPECT_EQ(report["domains"][0]["total_users"], 50);
  EXPECT_EQ(report["domains"][0]["total_source"], "admin");
}

}  // namespace
}  // namespace sg::admin
