// workers.smime configuration: defaults, values, errors, trust files.
#include "workers/smime/smime_config.h"

#include <gtest/gtest.h>

#include "tests/workers/smime/smime_test_pki.h"

namespace sg::smime {
namespace {

Result<SmimeConfig> Parse(const std::string& yaml, const std::string& data_dir = "/data") {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return std::move(doc).error();
  auto section = doc->Root().Map("smime");
  if (!section.ok()) return std::move(section).error();
  return ParseSmimeConfig(*section, data_dir);
}

TEST(SmimeConfig, Defaults) {
  auto c = Parse("smime: {}\n");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->content_cipher, ContentCipher::kAuto);
  EXPECT_EQ(c->digest, DigestAlg::kSha256);
  EXPECT_FALSE(c->rsa_oaep);
  EXPECT_FALSE(c->trust_system_roots) << "server roots are not email roots (issue 18)";
  EXPECT_TRUE(c->check_from_address);
  EXPECT_TRUE(c->allow_3des) << "3DES mail from older senders is read, as the reference clients do";
  EXPECT_FALSE(c->allow_sha1) << "SHA-1 signatures invalid by default";
  EXPECT_TRUE(c->check_signing_date);
  EXPECT_EQ(c->limits.max_message_bytes, 64u << 20);
  EXPECT_EQ(c->limits.max_depth, 32);
}

TEST(SmimeConfig, ValuesAndRelativePaths) {
  auto c = Parse(
      "smime:\n  content_cipher: aes-256-gcm\n  digest: sha384\n  rsa_oaep: true\n"
      "  max_message_size: 10MB\n  max_mime_depth: 8\n"
      "  trust:\n    system_roots: false\n    anchors: [ca/root.pem, /etc/x.pem]\n");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->content_cipher, ContentCipher::kAes256Gcm);
  EXPECT_EQ(c->digest, DigestAlg::kSha384);
  EXPECT_TRUE(c->rsa_oaep);
  EXPECT_EQ(c->limits.max_message_bytes, 10u << 20);
  EXPECT_EQ(c->limits.max_depth, 8);
  EXPECT_FALSE(c->trust_system_roots);
  EXPECT_EQ(c->trust_anchor_files, (std::vector<std::string>{"/data/ca/root.pem", "/etc/x.pem"}));
}

TEST(SmimeConfig, InboundAlgorithmSwitches) {
  auto c = Parse(
      "smime:\n  allow_3des_decrypt: false\n  sha1_signatures: weak\n  check_signing_date: false\n");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_FALSE(c->allow_3des);
  EXPECT_TRUE(c->allow_sha1);
  EXPECT_FALSE(c->check_signing_date);
  EXPECT_FALSE(Parse("smime:\n  sha1_signatures: valid\n").ok());
}

TEST(SmimeConfig, ErrorsNameTheKey) {
  auto c = Parse("smime:\n  content_cipher: des\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("smime.content_cipher"), std::string::npos) << c.error().message;
}

TEST(SmimeConfig, TrustStoreFromFiles) {
  const auto& pki = testing::GetTestPki();
  auto c = Parse(
      "smime:\n  trust:\n    system_roots: false\n    anchors: [root.pem]\n"
      "    intermediates: [intermediate.pem]\n",
      pki.dir);
  ASSERT_TRUE(c.ok());
  auto trust = LoadTrustStore(*c);
  ASSERT_TRUE(trust.ok()) << trust.error().ToString();
  EXPECT_EQ(trust->intermediates().size(), 1u);
  // A signature without the chain inside still validates through the configured intermediate.
  auto engine = SmimeEngine::Create(c->limits).value();
  SignOptions no_chain;
  no_chain.include_chain = false;
  auto s = engine->Sign(testing::SampleMessage(), pki.alice.Signer(), no_chain).value();
  EXPECT_EQ(engine->Verify(s, *trust, std::time(nullptr))->status, VerifyStatus::kGood);
  EXPECT_EQ(engine->Verify(s, pki.Trust(), std::time(nullptr))->status, VerifyStatus::kUntrusted);
  c->trust_anchor_files = {pki.dir + "/missing.pem"};
  auto missing = LoadTrustStore(*c);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIoError);
}

}  // namespace
}  // namespace sg::smime
