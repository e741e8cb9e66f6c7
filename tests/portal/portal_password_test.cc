// Argon2id hashes (PHC strings, salted, verified) and the strength check at
// registration and reset.
#include "portal/portal_password.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace sg::portal {
namespace {

// Small parameters: the test checks behaviour, not cost.
Argon2Params Fast() { return Argon2Params{1, 1024, 1}; }

TEST(PortalPassword, HashIsSaltedArgon2idAndVerifies) {
  PasswordHasher hasher(Fast());
  const std::string a = *hasher.Hash("correct horse battery staple");
  const std::string b = *hasher.Hash("correct horse battery staple");
  EXPECT_EQ(a.rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << a;
  EXPECT_NE(a, b);  // a fresh salt each time
  EXPECT_EQ(a.find("horse"), std::string::npos);
  EXPECT_TRUE(*hasher.Verify(a, "correct horse battery staple"));
  EXPECT_TRUE(*hasher.Verify(b, "correct horse battery staple"));
  EXPECT_FALSE(*hasher.Verify(a, "correct horse battery stapl"));
  EXPECT_FALSE(*hasher.Verify(a, ""));
}

TEST(PortalPassword, MalformedOrOtherAlgorithmHashesNeverVerify) {
  PasswordHasher hasher(Fast());
  EXPECT_FALSE(*hasher.Verify("", "x"));
  EXPECT_FALSE(*hasher.Verify("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "x"));
  EXPECT_FALSE(*hasher.Verify("$argon2id$garbage", "x"));
  EXPECT_TRUE(hasher.VerifyDummy("anything").ok());  // must not crash; its time is the point
}

// Review R3: each run takes memory_kib, and a login needs no account, so
// many concurrent logins must not run more than the capacity at once.
TEST(PortalPassword, ConcurrentVerificationsNeverRunMoreThanTheCapacity) {
  PasswordHasher hasher(Argon2Params{2, 8 * 1024, 1}, 2, std::chrono::seconds(60));
  const std::string hash = *hasher.Hash("correct horse battery staple");
  std::vector<std::thread> logins;
  logins.reserve(8);
  std::atomic<int> right{0};
  for (int i = 0; i < 8; ++i) {
    logins.emplace_back([&] {
      for (int j = 0; j < 3; ++j) {
        auto ok = hasher.Verify(hash, "correct horse battery staple");
        if (ok.ok() && *ok) ++right;
        EXPECT_TRUE(hasher.VerifyDummy("wrong").ok());
      }
    });
  }
  for (auto& t : logins) t.join();
  EXPECT_EQ(right.load(), 24);
  EXPECT_GE(hasher.PeakInFlight(), 1u);
  EXPECT_LE(hasher.PeakInFlight(), 2u);
}

TEST(PortalPassword, AFullGateAnswersBusyAfterItsBoundedWait) {
  WorkGate gate(1, std::chrono::milliseconds(20));
  ASSERT_TRUE(gate.Enter());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(gate.Enter());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  gate.Leave();
  EXPECT_TRUE(gate.Enter());
  gate.Leave();
  EXPECT_GE(DefaultArgon2Concurrency(), 2u);
}

TEST(PortalPassword, StrengthCheckRefusesWeakPasswords) {
  const std::string addr = "robert.smith@partner.example";
  EXPECT_EQ(CheckPasswordStrength("Sh0rt!", addr, 10), "password_too_short");
  EXPECT_EQ(CheckPasswordStrength("xxROBERT.SMITHxx12", addr, 10), "password_contains_address");
  EXPECT_TRUE(CheckPasswordStrength("password123", addr, 10).has_value());
  EXPECT_TRUE(CheckPasswordStrength("aaaaaaaaaaaaaaaa", addr, 10).has_value());
  EXPECT_TRUE(CheckPasswordStrength("1234567890123", addr, 10).has_value());
  EXPECT_EQ(CheckPasswordStrength("Tundra-Kettle-Violin-42", addr, 10), std::nullopt);
}

}  // namespace
}  // namespace sg::portal
