// The shared AES-256-GCM sealing (common/crypto/aes_gcm.h): the GCM
// specification's AES-256 test case 16 opens to its plaintext; a sealed
// value opens only with its key and AAD, and any flipped bit is refused.
#include "common/crypto/aes_gcm.h"

#include <gtest/gtest.h>

#include <string>

namespace sg::crypto {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The key of the GCM specification's test case 16 (a function-local static: built on
// first use, not at program start).
const std::string& TestKey() {
  static const std::string key =
      FromHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  return key;
}
const unsigned char* K(const std::string& key) {
  return reinterpret_cast<const unsigned char*>(key.data());
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16.
TEST(AesGcmTest, TheSpecificationsTestCase16Opens) {
  const std::string sealed = FromHex(
      "cafebabefacedbaddecaf888"
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  const std::string aad = FromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string plain;
  ASSERT_TRUE(GcmOpen(K(TestKey()), sealed, aad, plain));
  EXPECT_EQ(plain, FromHex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c"
                           "95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"));
}

TEST(AesGcmTest, ASealedValueOpensWithItsKeyAndAadOnly) {
  std::string sealed = "hdr";
  GcmSealAppend(K(TestKey()), "the private key", "user:alice", sealed);
  ASSERT_EQ(sealed.size(), 3 + kGcmOverhead + 15);
  EXPECT_EQ(sealed.substr(0, 3), "hdr");  // appended behind the caller's header
  const std::string body = sealed.substr(3);
  std::string plain;
  ASSERT_TRUE(GcmOpen(K(TestKey()), body, "user:alice", plain));
  EXPECT_EQ(plain, "the private key");
  EXPECT_FALSE(GcmOpen(K(TestKey()), body, "user:mallory", plain));
  EXPECT_TRUE(plain.empty());
  std::string other = TestKey();
  other[0] ^= 1;
  EXPECT_FALSE(GcmOpen(K(other), body, "user:alice", plain));
  EXPECT_FALSE(GcmOpen(K(TestKey()), body.substr(0, kGcmOverhead - 1), "user:alice", plain));
}

TEST(AesGcmTest, EveryFlippedBitIsRefusedAndTwoSealsDiffer) {
  std::string a;
  std::string b;
  GcmSealAppend(K(TestKey()), "abc", "", a);
  GcmSealAppend(K(TestKey()), "abc", "", b);
  EXPECT_NE(a, b);  // fresh nonces
  std::string plain;
  for (size_t i = 0; i < a.size() * 8; ++i) {
    std::string bad = a;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    EXPECT_FALSE(GcmOpen(K(TestKey()), bad, "", plain)) << "bit " << i;
  }
  EXPECT_TRUE(GcmOpen(K(TestKey()), a, "", plain));
  EXPECT_EQ(plain, "abc");
}

TEST(AesGcmTest, AnEmptyPlaintextSealsAndOpens) {
  std::string sealed;
  GcmSealAppend(K(TestKey()), "", "aad", sealed);
  EXPECT_EQ(sealed.size(), kGcmOverhead);
  std::string plain = "leftover";
  EXPECT_TRUE(GcmOpen(K(TestKey()), sealed, "aad", plain));
  EXPECT_TRUE(plain.empty());
}

}  // namespace
}  // namespace sg::crypto
