// AUTH hardening (issue 13 point 7): the argon2 check takes as long for an
// unknown user as for a known one, and the failure limiter behind the
// lockout counts, locks, expires and stays bounded.
#include "ingress/ingress_auth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "ingress/ingress_failure_limiter.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;

// Median seconds of each of `fs`, run interleaved (one of each per round),
// so a burst of load elsewhere on the machine hits all of them alike.
std::vector<double> InterleavedMedians(const std::vector<std::function<void()>>& fs) {
  std::vector<std::vector<double>> t(fs.size());
  for (int round = 0; round < 7; ++round) {
    for (size_t i = 0; i < fs.size(); ++i) {
      auto t0 = std::chrono::steady_clock::now();
      fs[i]();
      t[i].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::vector<double> medians;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    medians.push_back(v[v.size() / 2]);
  }
  return medians;
}

TEST(Argon2AuthenticatorTest, UnknownUserTakesAsLongAsAWrongPassword) {
  // A costly hash (16 MiB, 2 passes): an answer without the argon2 run would
  // be a hundred times faster.
  auto costly = Argon2Authenticator::Hash("s3cret", "saltsaltsalt", 16384, 2, 1);
  ASSERT_TRUE(costly.ok());
  Argon2Authenticator auth({{"alice", *costly}});
  auto m = InterleavedMedians({
      [&] { EXPECT_FALSE(auth.Verify("", "alice", "nope").ok()); },
      [&] { EXPECT_FALSE(auth.Verify("", "mallory", "nope").ok()); },
      [&] { EXPECT_FALSE(auth.Verify("bob", "alice", "s3cret").ok()); },
  });
  const double wrong = m[0], unknown = m[1], other_authzid = m[2];
  std::printf("median seconds: wrong password %.4f, unknown user %.4f, other authzid %.4f\n", wrong,
              unknown, other_authzid);
  // Without the dummy check an unknown user is answered ~1000x faster; the
  // bounds leave room for a loaded machine.
  EXPECT_GT(unknown / wrong, 0.4);
  EXPECT_LT(unknown / wrong, 2.5);
  EXPECT_GT(other_authzid / wrong, 0.4);
  EXPECT_TRUE(auth.Verify("", "alice", "s3cret").ok());
}

TEST(Argon2AuthenticatorTest, ParametersOfAPhcString) {
  uint32_t m = 0, t = 0, p = 0;
  ASSERT_TRUE(
      Argon2Authenticator::Parameters("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", &m, &t, &p));
  EXPECT_EQ(m, 65536u);
  EXPECT_EQ(t, 3u);
  EXPECT_EQ(p, 4u);
  EXPECT_FALSE(Argon2Authenticator::Parameters("$argon2id$v=19$c2FsdA$aGFzaA", &m, &t, &p));
}

TEST(FailureLimiterTest, LocksAfterTheLimitWithinTheWindowAndExpires) {
  FailureLimiter limiter(FailureLimit{3, 60s, 300s});
  const int64_t t0 = 1'000'000;
  EXPECT_FALSE(limiter.Failure("alice", t0));
  EXPECT_FALSE(limiter.Failure("alice", t0 + 1000));
  EXPECT_FALSE(limiter.Locked("alice", t0 + 2000));
  EXPECT_TRUE(limiter.Failure("alice", t0 + 2000));
  EXPECT_TRUE(limiter.Locked("alice", t0 + 2000));
  EXPECT_TRUE(limiter.Locked("alice", t0 + 301'000));
  EXPECT_FALSE(limiter.Locked("alice", t0 + 302'001));
  EXPECT_FALSE(limiter.Locked("bob", t0 + 2000));
  // Failures further apart than the window never add up.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.Failure("carol", t0 + i * 61'000));
  EXPECT_FALSE(limiter.Locked("carol", t0 + 610'000));
  // A success forgets the failures so far.
  limiter.Failure("dave", t0);
  limiter.Failure("dave", t0);
  limiter.Clear("dave");
  EXPECT_FALSE(limiter.Failure("dave", t0));
}

TEST(FailureLimiterTest, TracksAtMostMaxKeys) {
  FailureLimiter limiter(FailureLimit{2, 60s, 60s}, 100);
  for (int i = 0; i < 10000; ++i) limiter.Failure("user" + std::to_string(i), 1000 + i);
  // The newest keys are still counted.
  EXPECT_TRUE(limiter.Failure("user9999", 20000));
}

}  // namespace
}  // namespace sg::ingress
