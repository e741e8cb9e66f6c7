// Lockout per address and limits per IP (and per IPv6 /64), driven by a
// fake clock.
#include "portal/portal_limiter.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

using Verdict = LoginLimiter::Verdict;

TEST(PortalLimiter, TwentyWrongPasswordsLockTheAddressForTheLockout) {
  testing::FakeClock clock;
  LoginLimiter limiter(LimiterConfig{}, clock);
  for (int i = 1; i < 20; ++i) {
    ASSERT_EQ(limiter.Check("bob@partner.example", "192.0.2.1"), Verdict::kAllowed) << i;
    EXPECT_FALSE(limiter.Failure("bob@partner.example", "192.0.2.1")) << i;
  }
  EXPECT_TRUE(limiter.Failure("bob@partner.example", "192.0.2.1"));  // the 20th locks
  EXPECT_EQ(limiter.Check("bob@partner.example", "192.0.2.1"), Verdict::kAddressLocked);
  // From another IP too: the lock is on the address.
  EXPECT_EQ(limiter.Check("bob@partner.example", "198.51.100.7"), Verdict::kAddressLocked);
  // Another address from the same IP is not locked.
  EXPECT_EQ(limiter.Check("carol@partner.example", "192.0.2.1"), Verdict::kAllowed);
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::hours(1)).count() - 1);
  EXPECT_EQ(limiter.Check("bob@partner.example", "192.0.2.1"), Verdict::kAddressLocked);
  clock.AdvanceMs(1);
  EXPECT_EQ(limiter.Check("bob@partner.example", "192.0.2.1"), Verdict::kAllowed);
  // After the lock ran out the count starts again.
  EXPECT_FALSE(limiter.Failure("bob@partner.example", "192.0.2.1"));
  EXPECT_EQ(limiter.Check("bob@partner.example", "192.0.2.1"), Verdict::kAllowed);
}

TEST(PortalLimiter, SuccessAndUnlockResetTheCount) {
  testing::FakeClock clock;
  LoginLimiter limiter(LimiterConfig{}, clock);
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(limiter.Failure("a@x.example", "192.0.2.1"));
  limiter.Success("a@x.example");
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(limiter.Failure("a@x.example", "192.0.2.2"));
  EXPECT_TRUE(limiter.Failure("a@x.example", "192.0.2.2"));
  limiter.Unlock("a@x.example");  // a password reset by link
  EXPECT_EQ(limiter.Check("a@x.example", "192.0.2.2"), Verdict::kAllowed);
}

TEST(PortalLimiter, UnknownAddressesCountLikeKnownOnes) {
  testing::FakeClock clock;
  LimiterConfig config;
  config.max_failures = 3;
  LoginLimiter limiter(config, clock);
  for (int i = 0; i < 3; ++i) limiter.Failure("nobody@nowhere.example", "192.0.2.9");
  EXPECT_EQ(limiter.Check("nobody@nowhere.example", "192.0.2.9"), Verdict::kAddressLocked);
}

TEST(PortalLimiter, IpLimitCountsAcrossAddressesWithinTheWindow) {
  testing::FakeClock clock;
  LimiterConfig config;
  config.max_ip_failures = 5;
  LoginLimiter limiter(config, clock);
  for (int i = 0; i < 5; ++i) {
    limiter.Failure("user" + std::to_string(i) + "@x.example", "203.0.113.5");
  }
  EXPECT_EQ(limiter.Check("fresh@x.example", "203.0.113.5"), Verdict::kIpLimited);
  EXPECT_EQ(limiter.Check("fresh@x.example", "203.0.113.6"), Verdict::kAllowed);
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::minutes(15)).count());
  EXPECT_EQ(limiter.Check("fresh@x.example", "203.0.113.5"), Verdict::kAllowed);
}

TEST(PortalLimiter, Ipv6ClientsCountPerSlash64) {
  EXPECT_EQ(LoginLimiter::ClientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginLimiter::ClientKey("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginLimiter::ClientKey("192.0.2.1"), "192.0.2.1");
  // IPv4 seen IPv4-mapped on a dual-stack socket: the IPv4 client, not "::/64".
  EXPECT_EQ(LoginLimiter::ClientKey("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(LoginLimiter::ClientKey("::ffff:198.51.100.9"), "198.51.100.9");
  testing::FakeClock clock;
  LimiterConfig config;
  config.max_ip_failures = 2;
  LoginLimiter limiter(config, clock);
  limiter.Failure("a@x.example", "2001:db8:1:2::1");
  limiter.Failure("b@x.example", "2001:db8:1:2::2");
  EXPECT_EQ(limiter.Check("c@x.example", "2001:db8:1:2:ffff::3"), Verdict::kIpLimited);
  EXPECT_EQ(limiter.Check("c@x.example", "2001:db8:1:3::3"), Verdict::kAllowed);
}

TEST(PortalLimiter, ResetMailsAtMostOncePerInterval) {
  testing::FakeClock clock;
  LoginLimiter limiter(LimiterConfig{}, clock);
  EXPECT_TRUE(limiter.AllowResetMail("a@x.example"));
  EXPECT_FALSE(limiter.AllowResetMail("a@x.example"));
  EXPECT_TRUE(limiter.AllowResetMail("b@x.example"));
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::minutes(5)).count());
  EXPECT_TRUE(limiter.AllowResetMail("a@x.example"));
}

}  // namespace
}  // namespace sg::portal
