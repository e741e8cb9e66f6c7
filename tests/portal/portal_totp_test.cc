// TOTP against the test vectors of RFC 6238 appendix B (SHA-1, SHA-256,
// SHA-512, 8 digits), HOTP against RFC 4226 appendix D, base32 against
// RFC 4648 section 10, and the replay and drift rules of VerifyTotp.
#include "portal/portal_totp.h"

#include <gtest/gtest.h>

namespace sg::portal {
namespace {

const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 =
    "1234567890123456789012345678901234567890123456789012345678901234";

struct Vector {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};

TEST(PortalTotp, Rfc6238AppendixB) {
  const Vector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(Totp(kSeed20, v.time, 8, "SHA1"), v.sha1) << v.time;
    EXPECT_EQ(Totp(kSeed32, v.time, 8, "SHA256"), v.sha256) << v.time;
    EXPECT_EQ(Totp(kSeed64, v.time, 8, "SHA512"), v.sha512) << v.time;
  }
}

TEST(PortalTotp, Rfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(Hotp(kSeed20, i), expected[i]) << i;
}

TEST(PortalTotp, VerifyAcceptsOneStepOfDriftOnce) {
  const int64_t now = 1111111111;
  const int64_t step = now / 30;
  auto ok = VerifyTotp(kSeed20, Totp(kSeed20, now), now, 0);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, step);
  // The same code again (its step is used): refused.
  EXPECT_FALSE(VerifyTotp(kSeed20, Totp(kSeed20, now), now, step).has_value());
  // The previous and the next step are accepted; two steps away are not.
  EXPECT_TRUE(VerifyTotp(kSeed20, Totp(kSeed20, now - 30), now, 0).has_value());
  EXPECT_TRUE(VerifyTotp(kSeed20, Totp(kSeed20, now + 30), now, 0).has_value());
  EXPECT_FALSE(VerifyTotp(kSeed20, Totp(kSeed20, now - 60), now, 0).has_value());
  EXPECT_FALSE(VerifyTotp(kSeed20, Totp(kSeed20, now + 60), now, 0).has_value());
  EXPECT_FALSE(VerifyTotp(kSeed20, "12345", now, 0).has_value());
  EXPECT_FALSE(VerifyTotp(kSeed20, "", now, 0).has_value());
}

TEST(PortalTotp, Base32Rfc4648Vectors) {
  EXPECT_EQ(Base32(""), "");
  EXPECT_EQ(Base32("f"), "MY");
  EXPECT_EQ(Base32("fo"), "MZXQ");
  EXPECT_EQ(Base32("foo"), "MZXW6");
  EXPECT_EQ(Base32("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32("foobar"), "MZXW6YTBOI");
}

TEST(PortalTotp, OtpAuthUriEscapesItsParts) {
  const std::string uri = OtpAuthUri("Example Mail", "bob@partner.example", "foobar");
  EXPECT_EQ(uri.rfind("otpauth://totp/", 0), 0u) << uri;
  EXPECT_NE(uri.find("secret=MZXW6YTBOI"), std::string::npos) << uri;
  EXPECT_NE(uri.find("Example%20Mail"), std::string::npos) << uri;
  EXPECT_EQ(uri.find(' '), std::string::npos) << uri;
}

}  // namespace
}  // namespace sg::portal
