// AES-256-GCM sealing (round trip, tampering, wrong key or AAD) and the
// base64url text of tokens (RFC 4648 section 10 vectors, URL-safe alphabet).
#include "portal/portal_crypto.h"

#include <gtest/gtest.h>

namespace sg::portal {
namespace {

TEST(PortalCrypto, SealOpensWithSameKeyAndAad) {
  SecretKey key = SecretKey::Random();
  const std::string aad("content\0a@x\0id", 14);
  const std::string sealed = Seal(key, "the message", aad);
  EXPECT_EQ(sealed.size(), 1 + 12 + 11 + 16);
  EXPECT_EQ(sealed.find("the message"), std::string::npos);
  auto opened = Open(key, sealed, aad);
  EXPECT_FALSE(Open(key, sealed, std::string("content\0a@x\0iD", 14)).ok());
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_EQ(*opened, "the message");
}

TEST(PortalCrypto, SealUsesAFreshNonceEachTime) {
  SecretKey key = SecretKey::Random();
  EXPECT_NE(Seal(key, "same", "aad"), Seal(key, "same", "aad"));
}

TEST(PortalCrypto, EveryFlippedByteIsRefused) {
  SecretKey key = SecretKey::Random();
  const std::string sealed = Seal(key, "secret text", "aad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto opened = Open(key, bad, "aad");
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    // The version byte is a format error; every other byte fails the tag.
    EXPECT_EQ(opened.error().code,
              i == 0 ? ErrorCode::kCorruption : ErrorCode::kPermissionDenied)
        << "byte " << i;
  }
}

TEST(PortalCrypto, WrongKeyOrAadOrTruncationIsRefused) {
  SecretKey key = SecretKey::Random();
  const std::string sealed = Seal(key, "secret", "record-1");
  EXPECT_EQ(Open(SecretKey::Random(), sealed, "record-1").error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(Open(key, sealed, "record-2").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(Open(key, sealed.substr(0, 20), "record-1").error().code, ErrorCode::kCorruption);
  EXPECT_EQ(Open(key, "", "record-1").error().code, ErrorCode::kCorruption);
}

TEST(PortalCrypto, EmptyPlaintextRoundTrips) {
  SecretKey key = SecretKey::Random();
  auto opened = Open(key, Seal(key, "", ""), "");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "");
}

TEST(PortalCrypto, KeyFromBytesNeedsExactly32) {
  EXPECT_TRUE(SecretKey::FromBytes(std::string(32, 'k')).ok());
  EXPECT_FALSE(SecretKey::FromBytes(std::string(31, 'k')).ok());
  EXPECT_FALSE(SecretKey::FromBytes(std::string(33, 'k')).ok());
}

TEST(PortalCrypto, UrlSafeTextMatchesRfc4648Vectors) {
  // RFC 4648 section 10, without padding.
  EXPECT_EQ(UrlSafeText(""), "");
  EXPECT_EQ(UrlSafeText("f"), "Zg");
  EXPECT_EQ(UrlSafeText("fo"), "Zm8");
  EXPECT_EQ(UrlSafeText("foo"), "Zm9v");
  EXPECT_EQ(UrlSafeText("foob"), "Zm9vYg");
  EXPECT_EQ(UrlSafeText("fooba"), "Zm9vYmE");
  EXPECT_EQ(UrlSafeText("foobar"), "Zm9vYmFy");
  // The URL-safe alphabet: 0xfb 0xff is "+/8" in standard base64.
  EXPECT_EQ(UrlSafeText("\xfb\xff"), "-_8");
  EXPECT_EQ(UrlSafeText(std::string(32, '\xff')).size(), 43u);  // a link token
}

TEST(PortalCrypto, FromUrlSafeTextRoundTripsAndRefusesOtherForms) {
  for (size_t n = 0; n < 40; ++n) {
    const std::string bytes = RandomBytes(n);
    auto back = FromUrlSafeText(UrlSafeText(bytes));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_FALSE(FromUrlSafeText("Zg==").ok());   // padding
  EXPECT_FALSE(FromUrlSafeText("+/8").ok());    // standard alphabet
  EXPECT_FALSE(FromUrlSafeText("Zm9vY").ok());  // impossible length
  EXPECT_FALSE(FromUrlSafeText("Zm 9").ok());
}

TEST(PortalCrypto, HmacAndConstantTimeEqual) {
  // RFC 4231 test case 2.
  EXPECT_EQ(Hex(Hmac("SHA256", "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hmac("MD5", "k", "d"), "");
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
}

}  // namespace
}  // namespace sg::portal
