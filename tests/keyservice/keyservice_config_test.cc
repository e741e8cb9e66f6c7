#include "keyservice/keyservice_config.h"

#include <gtest/gtest.h>

namespace sg::keyservice {
namespace {

Result<KeyServiceConfig> Parse(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  auto section = doc->Root().Map("keyservice");
  if (!section.ok()) return section.error();
  return ParseKeyServiceConfig(*section, "/data");
}

TEST(KeyServiceConfigTest, Defaults) {
  auto c = Parse("data_dir: /data\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen, "127.0.0.1:7443");
  EXPECT_EQ(c->endpoint, "127.0.0.1:7443");
  EXPECT_EQ(c->store_path, "/data/keys");
  EXPECT_EQ(c->kek_env, "SMIMEGATE_KEK");
  EXPECT_EQ(c->key_type, KeyType::kRsa2048);
  EXPECT_EQ(c->rollover_before, std::chrono::hours(24 * 7));
  EXPECT_EQ(c->ca.validity, std::chrono::hours(24 * 365));
}

TEST(KeyServiceConfigTest, ParsesEverything) {
  auto c = Parse(
      "keyservice:\n"
      "  listen: 0.0.0.0:9000\n"
      "  store_path: /var/keys\n"
      "  kek_file: kek.key\n"
      "  key_type: ecdsa-p256\n"
      "  rollover_before: 14d\n"
      "  ca:\n"
      "    organization: ACME\n"
      "    validity: 200d\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->endpoint, "127.0.0.1:9000");
  EXPECT_EQ(c->store_path, "/var/keys");
  EXPECT_EQ(c->kek_file, "/data/kek.key");
  EXPECT_EQ(c->key_type, KeyType::kEcdsaP256);
  EXPECT_EQ(c->rollover_before, std::chrono::hours(24 * 14));
  EXPECT_EQ(c->ca.organization, "ACME");
}

TEST(KeyServiceConfigTest, ErrorsNameTheKey) {
  auto c = Parse("keyservice:\n  key_type: dsa-1024\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("keyservice.key_type"), std::string::npos) << c.error().message;
  c = Parse("keyservice:\n  listen: localhost\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("keyservice.listen"), std::string::npos) << c.error().message;
  c = Parse("keyservice:\n  ca:\n    validity: 1000d\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("825d"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace sg::keyservice
