// Argon2id hashes (PHC strings, salted, verified) and the strength check at
// registration and reset.
#include "portal/portal_password.h"

#include <gtest/gtest.h>

namespace sg::portal {
namespace {

// Small parameters: the test checks behaviour, not cost.
Argon2Params Fast() { return Argon2Params{1, 1024, 1}; }

TEST(PortalPassword, HashIsSaltedArgon2idAndVerifies) {
  PasswordHasher hasher(Fast());
  const std::string a = hasher.Hash("correct horse battery staple");
  const std::string b = hasher.Hash("correct horse battery staple");
  EXPECT_EQ(a.rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << a;
  EXPECT_NE(a, b);  // a fresh salt each time
  EXPECT_EQ(a.find("horse"), std::string::npos);
  EXPECT_TRUE(hasher.Verify(a, "correct horse battery staple"));
  EXPECT_TRUE(hasher.Verify(b, "correct horse battery staple"));
  EXPECT_FALSE(hasher.Verify(a, "correct horse battery stapl"));
  EXPECT_FALSE(hasher.Verify(a, ""));
}

TEST(PortalPassword, MalformedOrOtherAlgorithmHashesNeverVerify) {
  PasswordHasher hasher(Fast());
  EXPECT_FALSE(hasher.Verify("", "x"));
  EXPECT_FALSE(hasher.Verify("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "x"));
  EXPECT_FALSE(hasher.Verify("$argon2id$garbage", "x"));
  hasher.VerifyDummy("anything");  // must not crash; its time is the point
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
