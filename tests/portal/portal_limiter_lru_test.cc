// The limiter's second-factor count and its bounded tables
// (portal_limiter.h): a correct password does not reset the TOTP count
// (review H1), a flood of other addresses does not evict a lock and the
// tables stay bounded (L10), replies per account are a token bucket (L9).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "portal/portal_limiter.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

using Verdict = LoginLimiter::Verdict;

TEST(PortalLimiterTotp, PasswordSuccessDoesNotClearTheTotpCountOnlyTheWholeLoginDoes) {
  testing::FakeClock clock;
  LoginLimiter limiter(LimiterConfig{}, clock);
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(limiter.TotpFailure("a@x.example", "192.0.2.1")) << i;
  // Wrong passwords are counted apart and do not add up with the codes.
  EXPECT_FALSE(limiter.Failure("a@x.example", "192.0.2.1"));
  EXPECT_TRUE(limiter.TotpFailure("a@x.example", "192.0.2.1"));  // the 20th code locks
  EXPECT_EQ(limiter.Check("a@x.example", "198.51.100.1"), Verdict::kAddressLocked);
  limiter.Success("a@x.example");  // a whole login (or a reset with the code)
  EXPECT_EQ(limiter.Check("a@x.example", "192.0.2.1"), Verdict::kAllowed);
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(limiter.TotpFailure("a@x.example", "192.0.2.1"));
}

TEST(PortalLimiterTotp, ALockThatRanOutStartsBothCountsAgain) {
  testing::FakeClock clock;
  LoginLimiter limiter(LimiterConfig{}, clock);
  for (int i = 0; i < 20; ++i) limiter.TotpFailure("a@x.example", "192.0.2.1");
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::hours(1)).count());
  EXPECT_EQ(limiter.Check("a@x.example", "192.0.2.1"), Verdict::kAllowed);
  EXPECT_FALSE(limiter.TotpFailure("a@x.example", "192.0.2.1"));
  EXPECT_EQ(limiter.Check("a@x.example", "192.0.2.1"), Verdict::kAllowed);
}

TEST(PortalLimiterLru, AFloodOfOtherAddressesKeepsTheLockAndTheBound) {
  testing::FakeClock clock;
  LimiterConfig config;
  config.max_entries = 100;
  config.max_ip_failures = 1000000;
  LoginLimiter limiter(config, clock);
  for (int i = 0; i < 20; ++i) limiter.Failure("victim@x.example", "192.0.2.1");
  ASSERT_EQ(limiter.Check("victim@x.example", "192.0.2.1"), Verdict::kAddressLocked);
  for (int i = 0; i < 10000; ++i) {
    limiter.Failure("flood" + std::to_string(i) + "@x.example", "203.0.113.9");
  }
  EXPECT_EQ(limiter.Check("victim@x.example", "192.0.2.1"), Verdict::kAddressLocked);
  EXPECT_LE(limiter.AddressEntries(), 101u);
  // Once its lock has run out, the victim's entry may go like any other.
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::hours(1)).count());
  for (int i = 0; i < 200; ++i) {
    limiter.Failure("later" + std::to_string(i) + "@x.example", "203.0.113.9");
  }
  EXPECT_LE(limiter.AddressEntries(), 100u);
}

TEST(PortalLimiterLru, TheLeastRecentlyUsedEntryGoesFirst) {
  testing::FakeClock clock;
  LimiterConfig config;
  config.max_entries = 3;
  config.max_failures = 5;
  LoginLimiter limiter(config, clock);
  for (int i = 0; i < 4; ++i) limiter.Failure("old@x.example", "192.0.2.1");
  limiter.Failure("b@x.example", "192.0.2.1");
  limiter.Failure("c@x.example", "192.0.2.1");
  limiter.Failure("old@x.example", "192.0.2.1");  // used again: now the newest; locks (5th)
  limiter.Failure("d@x.example", "192.0.2.1");    // evicts b, the least recently used
  EXPECT_EQ(limiter.AddressEntries(), 3u);
  EXPECT_EQ(limiter.Check("old@x.example", "192.0.2.1"), Verdict::kAddressLocked);
}

TEST(PortalLimiterReplies, ATokenBucketPerAccount) {
  testing::FakeClock clock;
  LimiterConfig config;
  config.max_replies = 3;
  LoginLimiter limiter(config, clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.AllowReply("a@x.example")) << i;
  EXPECT_FALSE(limiter.AllowReply("a@x.example"));
  EXPECT_TRUE(limiter.AllowReply("b@x.example"));
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::minutes(20)).count());  // one token
  EXPECT_TRUE(limiter.AllowReply("a@x.example"));
  EXPECT_FALSE(limiter.AllowReply("a@x.example"));
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::hours(10)).count());  // full, not more
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.AllowReply("a@x.example")) << i;
  EXPECT_FALSE(limiter.AllowReply("a@x.example"));
}

}  // namespace
}  // namespace sg::portal
