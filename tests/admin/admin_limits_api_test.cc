// Token expiry and the per-token rate limit of the admin REST API, with the
// server's fake clock: an expired token gets exactly the 401 of a bad one;
// a token over its rate gets 429 rate_limited with Retry-After (counted in
// smimegate_admin_api_requests_total{code="rate_limited"}), other tokens are
// not affected, and the bucket refills with time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "admin/admin_rate_limit.h"
#include "tests/admin/admin_test_server.h"
#include "tests/support/fake_clock.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;
constexpr int64_t kDay = 86400;
constexpr int64_t kHour = 3600;
using testing::AdminTestServer;

TEST(AdminTokenExpiryTest, ParsesDurationsAndUtcDates) {
  const int64_t now = 1'800'000'000;
  EXPECT_EQ(*ParseTokenExpiry("", now), 0);
  EXPECT_EQ(*ParseTokenExpiry("90d", now), now + 90 * kDay);
  EXPECT_EQ(*ParseTokenExpiry("12h", now), now + 12 * kHour);
  EXPECT_EQ(*ParseTokenExpiry("2027-03-01", now), 1803859200);
  EXPECT_EQ(*ParseTokenExpiry("2027-03-01T12:00:00Z", now), 1803859200 + 12 * kHour);
  for (const std::string bad : {"soon", "90x", "2027-13-01", "2027-03-01T12:00", "0s", "-5d"}) {
    auto r = ParseTokenExpiry(bad, now);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("90d"), std::string::npos) << r.error().message;
  }
}

TEST(AdminTokenExpiryTest, AnExpiredTokenGetsTheSameAnswerAsABadOne) {
  AdminTestServer server;
  const int64_t now = server.clock().NowMs() / 1000;
  auto past = server.tokens().Add("tenant:a", "old", now);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::kInvalidArgument);
  auto added = server.tokens().Add("tenant:a", "quarterly", now + 90 * kDay);
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_EQ(added->info.expires_at, now + 90 * kDay);

  auto who = server.Call("GET", "/v1/whoami", added->token);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(Json::parse(who.body)["expires_at"], now + 90 * kDay);
  server.clock().Advance(seconds(90 * kDay - 1));
  EXPECT_EQ(server.Call("GET", "/v1/whoami", added->token).status, 200);
  server.clock().Advance(seconds(1));
  auto expired = server.Call("GET", "/v1/whoami", added->token);
  auto bad = server.Call("GET", "/v1/whoami", "sgt_0000000000000000_" + std::string(64, 'a'));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.body, bad.body);
  EXPECT_EQ(expired.www_authenticate, bad.www_authenticate);
  // Still listed, with its expiry; the record kept it across a reload.
  auto list = server.tokens().List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].expires_at, now + 90 * kDay);
  EXPECT_EQ((*list)[0].revoked_at, 0);
}

TEST(AdminRateLimitTest, BucketAllowsBurstThenRefillsAtTheRate) {
  sg::testing::FakeClock clock{std::chrono::system_clock::now()};
  TokenRateLimiter limiter({2, 3}, clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("t1"), 0) << i;
  EXPECT_EQ(limiter.Take("t1"), 1);  // 0.5 s to the next one: whole seconds, at least 1
  EXPECT_EQ(limiter.Take("t2"), 0);  // per token
  clock.AdvanceMs(500);
  EXPECT_EQ(limiter.Take("t1"), 0);
  EXPECT_EQ(limiter.Take("t1"), 1);
  clock.AdvanceMs(10'000);  // refills up to the burst, no further
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("t1"), 0) << i;
  EXPECT_NE(limiter.Take("t1"), 0);
  TokenRateLimiter slow({0.1, 1}, clock);
  EXPECT_EQ(slow.Take("t"), 0);
  EXPECT_EQ(slow.Take("t"), 10);
  TokenRateLimiter off({0, 1}, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(off.Take("t"), 0);
}

TEST(AdminRateLimitTest, ATokenOverItsRateGets429WithRetryAfter) {
  AdminTestServer server(1 << 20, RateLimit{1, 2});
  const std::string busy = server.Token("tenant:a");
  const std::string other = server.Token("tenant:b");
  EXPECT_EQ(server.Call("GET", "/v1/whoami", busy).status, 200);
  EXPECT_EQ(server.Call("GET", "/v1/whoami", busy).status, 200);
  auto limited = server.Call("GET", "/v1/tenants/a", busy);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.retry_after, "1");
  EXPECT_EQ(Json::parse(limited.body)["error"]["code"], "rate_limited");
  EXPECT_EQ(server.Call("GET", "/v1/whoami", other).status, 200);
  auto& requests = server.registry().AddCounter("smimegate_admin_api_requests_total", "", {"code"});
  // httplib counts (its logger) just after writing the answer, on the
  // server's thread: wait for it, bounded.
  for (int i = 0; i < 2000 && requests.WithLabels({"rate_limited"}).Value() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(requests.WithLabels({"rate_limited"}).Value(), 1.0);
  auto records = server.ks().ListAudit(0, 1000);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->back().result, "OK");  // the other token's call
  EXPECT_EQ((*records)[records->size() - 2].result, "RESOURCE_EXHAUSTED");
  server.clock().Advance(seconds(1));
  EXPECT_EQ(server.Call("GET", "/v1/tenants/a", busy).status, 200);
}

}  // namespace
}  // namespace sg::admin
