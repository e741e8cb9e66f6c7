#include "keyservice/kek.h"

#include <gtest/gtest.h>

namespace sg::keyservice {
namespace {

TEST(KekTest, SealsAndOpensBoundToTheRecord) {
  auto kek = Kek::FromMaterial(std::string(64, 'b'), "test");
  ASSERT_TRUE(kek.ok());
  std::string sealed = kek->Seal("secret key bytes", "key/alice");
  EXPECT_EQ(sealed.find("secret"), std::string::npos);
  EXPECT_EQ(*kek->Open(sealed, "key/alice"), "secret key bytes");
  EXPECT_EQ(kek->Open(sealed, "key/mallory").error().code, ErrorCode::kPermissionDenied);
  sealed[20] ^= 1;
  EXPECT_EQ(kek->Open(sealed, "key/alice").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(kek->Open("x", "key/alice").error().code, ErrorCode::kCorruption);
  auto other = Kek::FromMaterial(std::string(64, 'c'), "test");
  EXPECT_FALSE(other->Open(kek->Seal("k", "a"), "a").ok());
}

TEST(KekTest, AcceptsRawHexAndBase64AndRejectsTheRest) {
  EXPECT_TRUE(Kek::FromMaterial(std::string(32, '\x01'), "raw").ok());
  EXPECT_TRUE(Kek::FromMaterial(std::string(64, 'F') + "\n", "hex").ok());
  EXPECT_TRUE(Kek::FromMaterial("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "b64").ok());
  auto bad = Kek::FromMaterial("too short", "environment variable SMIMEGATE_KEK");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("environment variable SMIMEGATE_KEK"), std::string::npos);
  EXPECT_EQ(bad.error().message.find("too short"), std::string::npos);  // never echo key material
}

}  // namespace
}  // namespace sg::keyservice
