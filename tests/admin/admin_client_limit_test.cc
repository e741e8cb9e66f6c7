// The admin REST API's limit per client address before authentication
// (admin/admin_client_limit.h, docs/admin-api.md "Limits"), with fake
// clocks: failures drain a client's bucket, and once it is empty the client
// gets 429 without its token being checked at all (the verifier is
// counted); a valid token refunds its request; other clients, IPv6 by /64,
// are not affected; the table stays within its bound without letting a
// flood reset its own buckets; refusals are audited once per client and
// minute. The attack over the real HTTPS listener is at the end.
#include "admin/admin_client_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "admin/admin_api.h"
#include "tests/admin/admin_test_server.h"
#include "tests/support/fake_clock.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;
using testing::AdminTestServer;
// A well-formed token that does not exist.
std::string BadToken() { return "sgt_0000000000000000_" + std::string(64, 'a'); }

TEST(ClientRateLimiterTest, FailuresDrainTheBucketAndRefundsDoNot) {
  sg::testing::FakeClock clock;
  ClientRateLimiter limiter({{1, 3}, 100}, clock);
  for (int i = 0; i < 3; ++i) {
    auto ok = limiter.Take("127.0.0.1");  // authenticated: given back
    ASSERT_EQ(ok.retry_after, 0);
    limiter.Refund(ok);
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("192.0.2.7").retry_after, 0) << i;
  auto refused = limiter.Take("192.0.2.7");
  EXPECT_EQ(refused.retry_after, 1);
  EXPECT_EQ(refused.client, "192.0.2.7");
  EXPECT_FALSE(refused.taken);
  limiter.Refund(refused);  // nothing was taken: gives nothing back
  EXPECT_GT(limiter.Take("::ffff:192.0.2.7").retry_after, 0);  // the same client, IPv4-mapped
  EXPECT_EQ(limiter.Take("192.0.2.8").retry_after, 0);         // another client
  EXPECT_EQ(limiter.Take("127.0.0.1").retry_after, 0);         // the refunded client kept its burst
  clock.AdvanceMs(1000);                                       // one request's worth back
  EXPECT_EQ(limiter.Take("192.0.2.7").retry_after, 0);
  EXPECT_GT(limiter.Take("192.0.2.7").retry_after, 0);
  ClientRateLimiter off({{0, 1}, 1}, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(off.Take("192.0.2.7").retry_after, 0);
}

TEST(ClientRateLimiterTest, Ipv6CountsPerSlash64) {
  sg::testing::FakeClock clock;
  ClientRateLimiter limiter({{1, 2}, 100}, clock);
  EXPECT_EQ(limiter.Take("2001:db8:1:2::1").retry_after, 0);
  auto second = limiter.Take("2001:db8:1:2:ffff:ffff:ffff:fffe");
  EXPECT_EQ(second.retry_after, 0);
  EXPECT_EQ(second.client, "2001:db8:1:2::/64");
  EXPECT_GT(limiter.Take("2001:db8:1:2:abcd::9").retry_after, 0);  // the same /64: empty
  EXPECT_EQ(limiter.Take("2001:db8:1:3::1").retry_after, 0);       // the next /64: its own
  EXPECT_EQ(limiter.Clients(), 2u);
}

TEST(ClientRateLimiterTest, TheTableIsBoundedAndAFloodCannotResetItsBuckets) {
  sg::testing::FakeClock clock;
  ClientRateLimiter limiter({{1, 2}, 3}, clock);
  // Three clients drain their buckets: the table is full of draining ones.
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    limiter.Take(ip);
    limiter.Take(ip);
    ASSERT_GT(limiter.Take(ip).retry_after, 0) << ip;
  }
  // Newcomers share one overflow bucket instead of pushing them out.
  auto first = limiter.Take("198.51.100.1");
  EXPECT_EQ(first.retry_after, 0);
  EXPECT_TRUE(first.overflow);
  EXPECT_EQ(limiter.Take("198.51.100.2").retry_after, 0);
  auto full = limiter.Take("198.51.100.3");
  EXPECT_GT(full.retry_after, 0);
  EXPECT_TRUE(full.overflow);
  EXPECT_EQ(limiter.Clients(), 3u);
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    EXPECT_GT(limiter.Take(ip).retry_after, 0) << ip << " was forgiven";
  }
  // Buckets that are full again make room (a full bucket is the same as none).
  clock.AdvanceMs(2000);
  auto later = limiter.Take("198.51.100.4");
  EXPECT_EQ(later.retry_after, 0);
  EXPECT_FALSE(later.overflow);
  EXPECT_EQ(limiter.Clients(), 3u);
}

TEST(ClientRateLimiterTest, RefusalsAreReportedOncePerClientAndMinute) {
  sg::testing::FakeClock clock;
  ClientRateLimiter limiter({{1, 1}, 100}, clock);
  limiter.Take("192.0.2.7");
  auto first = limiter.Take("192.0.2.7");
  EXPECT_TRUE(first.report);
  EXPECT_EQ(first.unreported, 1u);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.Take("192.0.2.7").report) << i;
  EXPECT_TRUE(limiter.Take("192.0.2.8").retry_after == 0);
  EXPECT_TRUE(limiter.Take("192.0.2.8").report);  // per client
  clock.AdvanceMs(ClientRateLimiter::kReportEveryMs);
  limiter.Take("192.0.2.7");  // refilled: allowed
  auto next = limiter.Take("192.0.2.7");
  EXPECT_TRUE(next.report);
  EXPECT_EQ(next.unreported, 11u);  // ten unreported and this one
}

// A TokenVerifier that counts the checks (each one a store read and a hash).
class CountingVerifier : public TokenVerifier {
 public:
  explicit CountingVerifier(TokenVerifier& real) : real_(real) {}
  Result<std::optional<TokenInfo>> Check(const std::string& token) override {
    ++checks;
    return real_.Check(token);
  }
  std::atomic<int> checks{0};

 private:
  TokenVerifier& real_;
};

ApiRequest Whoami(const std::string& token, const std::string& client) {
  ApiRequest r;
  r.method = "GET";
  r.path = "/v1/whoami";
  r.authorization = token.empty() ? "" : "Bearer " + token;
  r.client_address = client;
  return r;
}

TEST(AdminClientLimitTest, AClientOverItsBudgetGets429WithoutAnyTokenCheck) {
  AdminTestServer server;
  auto& ks = server.ks();
  CountingVerifier verifier(server.tokens());
  ApiLimits limits;
  limits.per_client = {{1, 5}, 100};
  AdminApi api(ApiDeps{ks, ks, ks, ks, verifier, server.clock(), ks, ks}, limits);
  const std::string good = server.Token("tenant:a");
  const std::string attacker = "203.0.113.9";
  auto audit_before = ks.ListAudit(0, 1000);
  ASSERT_TRUE(audit_before.ok());

  // Five failures of every kind: no token, malformed, unknown id.
  for (const std::string& t :
       {std::string(), std::string("x"), BadToken(), BadToken(), BadToken()}) {
    EXPECT_EQ(api.Handle(Whoami(t, attacker)).status, 401);
  }
  EXPECT_EQ(verifier.checks.load(), 5);
  for (int i = 0; i < 50; ++i) {
    ApiReply r = api.Handle(Whoami(BadToken(), attacker));
    ASSERT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.retry_after, 1);
    EXPECT_EQ(r.limited, "client_address");
    EXPECT_EQ(Json::parse(r.body)["error"]["code"], "rate_limited");
  }
  EXPECT_EQ(verifier.checks.load(), 5) << "a refused client's token was checked";
  // A valid token from the same address is refused too while it is over...
  EXPECT_EQ(api.Handle(Whoami(good, attacker)).status, 429);
  EXPECT_EQ(verifier.checks.load(), 5);
  // ...but from another address it works, again and again (refunded).
  for (int i = 0; i < 20; ++i) ASSERT_EQ(api.Handle(Whoami(good, "198.51.100.1")).status, 200);
  // Once the attacker's address has a request's worth back, a valid token
  // from it works again, as often as it likes: it costs the bucket nothing.
  server.clock().AdvanceMs(1000);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(api.Handle(Whoami(good, attacker)).status, 200) << i;
  // One more failure takes that request's worth: refused again, unchecked.
  EXPECT_EQ(api.Handle(Whoami(BadToken(), attacker)).status, 401);
  EXPECT_EQ(api.Handle(Whoami(BadToken(), attacker)).status, 429);
  EXPECT_EQ(api.Handle(Whoami(good, attacker)).status, 429);
  EXPECT_EQ(verifier.checks.load(), 5 + 20 + 20 + 1);

  // Audit: the six 401s and ONE record of the refusals (the first; the
  // later ones fall in the same minute), not 54.
  auto audit = ks.ListAudit(0, 1000);
  ASSERT_TRUE(audit.ok());
  int unauthenticated = 0;
  int exhausted = 0;
  for (size_t i = audit_before->size(); i < audit->size(); ++i) {
    const auto& rec = (*audit)[i];
    if (rec.result == "UNAUTHENTICATED") ++unauthenticated;
    if (rec.result == "RESOURCE_EXHAUSTED") {
      ++exhausted;
      EXPECT_NE(rec.message.find("203.0.113.9"), std::string::npos) << rec.message;
      EXPECT_EQ(rec.arguments, "client 203.0.113.9");
    }
  }
  EXPECT_EQ(unauthenticated, 6);
  EXPECT_EQ(exhausted, 1);
}

// Over the real HTTPS listener: a loop of bad tokens from one address is
// refused with 429 within its burst; a good token from another address is
// served meanwhile; the refusals are counted by limit.
TEST(AdminClientLimitTest, AttackOverTheListenerIsRefusedAndOthersAreServed) {
  AdminTestServer server(1 << 20, RateLimit{0, 1}, ClientLimit{{1, 10}, 1000});
  const std::string good = server.Token("super");
  const std::string attacker = "127.0.0.2";
  int first_429 = -1;
  for (int i = 0; i < 40; ++i) {
    auto a = server.Call("GET", "/v1/tenants", BadToken(), "", "application/json", attacker);
    ASSERT_TRUE(a.status == 401 || a.status == 429) << a.status << " " << a.body;
    if (a.status == 429 && first_429 < 0) {
      first_429 = i;
      EXPECT_EQ(a.retry_after, "1");
    }
    if (first_429 >= 0) {
      ASSERT_EQ(a.status, 429) << "request " << i;
    }
  }
  EXPECT_EQ(first_429, 10);  // the burst, then 429 until time passes
  auto other = server.Call("GET", "/v1/tenants", good, "", "application/json", "127.0.0.3");
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(server.Call("GET", "/v1/tenants", good, "", "application/json", attacker).status, 429);
  server.clock().AdvanceMs(1000);
  EXPECT_EQ(server.Call("GET", "/v1/tenants", good, "", "application/json", attacker).status, 200);
  auto& limited =
      server.registry().AddCounter("smimegate_admin_api_rate_limited_total", "", {"limit"});
  // httplib counts after writing the answer, on its thread: wait, bounded.
  for (int i = 0; i < 2000 && limited.WithLabels({"client_address"}).Value() < 31; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(limited.WithLabels({"client_address"}).Value(), 31.0);
  EXPECT_EQ(limited.WithLabels({"token"}).Value(), 0.0);
}

}  // namespace
}  // namespace sg::admin
