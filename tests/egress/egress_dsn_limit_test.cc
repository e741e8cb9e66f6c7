// The per-domain DSN rate limit (egress/egress_dsn_limit.h) on a fake clock.
#include "egress/egress_dsn_limit.h"

#include <gtest/gtest.h>

namespace sg::egress {
namespace {

TEST(DsnRateLimiter, AllowsMaxPerIntervalPerDomainAndRefillsEvenly) {
  DsnRateLimiter limiter({3, std::chrono::hours(1)});
  const int64_t t0 = 1'800'000'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("victim.example", t0)) << i;
  EXPECT_FALSE(limiter.Allow("victim.example", t0));
  EXPECT_TRUE(limiter.Allow("other.example", t0));  // each domain its own bucket
  EXPECT_FALSE(limiter.Allow("victim.example", t0 + 1'199'000));  // 1/3 h less a second
  EXPECT_TRUE(limiter.Allow("victim.example", t0 + 1'200'000));   // one back after 20 min
  EXPECT_FALSE(limiter.Allow("victim.example", t0 + 1'200'000));
  // A long pause refills to max, not beyond.
  const int64_t later = t0 + 10 * 3'600'000LL;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("victim.example", later)) << i;
  EXPECT_FALSE(limiter.Allow("victim.example", later));
}

TEST(DsnRateLimiter, ZeroDisablesTheLimit) {
  DsnRateLimiter limiter({0, std::chrono::hours(1)});
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.Allow("victim.example", 0));
}

TEST(DsnRateLimiter, ManyDomainsDoNotGrowWithoutBound) {
  DsnRateLimiter limiter({2, std::chrono::minutes(1)});
  for (int i = 0; i < 30000; ++i) {
    EXPECT_TRUE(limiter.Allow("d" + std::to_string(i) + ".example", int64_t{i} * 10'000));
  }
  EXPECT_LT(limiter.TrackedKeys(), 20000u);
}

}  // namespace
}  // namespace sg::egress
