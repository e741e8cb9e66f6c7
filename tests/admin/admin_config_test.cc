// keyservice.admin_api: defaults (off, loopback, self-signed), TLS files in
// pairs, limits within their bounds, errors naming the key.
#include <gtest/gtest.h>

#include "admin/admin_config.h"

namespace sg::admin {
namespace {

Result<AdminApiConfig> Parse(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  auto section = doc->Root().Map("admin_api");
  if (!section.ok()) return section.error();
  return ParseAdminApiConfig(*section, "/data");
}

TEST(AdminConfigTest, DefaultsAreOffOnLoopbackWithSelfSignedTls) {
  auto c = Parse("{}");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_FALSE(c->enabled);
  EXPECT_EQ(c->address, "127.0.0.1");
  EXPECT_EQ(c->port, 8444);
  EXPECT_FALSE(c->tls.has_value());
  EXPECT_EQ(c->tls_dir, "/data/admin/tls");
  EXPECT_EQ(c->max_body_bytes, 1u << 20);
  EXPECT_EQ(c->request_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c->max_connections, 8u);
  EXPECT_EQ(c->rate_limit.per_second, 20);
  EXPECT_EQ(c->rate_limit.burst, 40u);
}

TEST(AdminConfigTest, SettingsAndTheirBounds) {
  auto c = Parse(
      "admin_api: {enabled: true, address: 0.0.0.0, port: 9443, tls: {cert: a.pem, key: /k.pem},"
      " max_body_bytes: 64KiB, request_timeout: 30s, max_connections: 32,"
      " rate_limit_per_token: 5, rate_limit_burst: 7}");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ(c->port, 9443);
  ASSERT_TRUE(c->tls.has_value());
  EXPECT_EQ(c->tls->cert_file, "/data/a.pem");
  EXPECT_EQ(c->tls->key_file, "/k.pem");
  EXPECT_EQ(c->max_body_bytes, 64u << 10);
  EXPECT_EQ(c->max_connections, 32u);
  EXPECT_EQ(c->rate_limit.per_second, 5);
  EXPECT_EQ(c->rate_limit.burst, 7u);
  for (const std::string bad :
       {"admin_api: {tls: {cert: a.pem}}", "admin_api: {max_body_bytes: 10}",
        "admin_api: {request_timeout: 0s}", "admin_api: {max_connections: 0}",
        "admin_api: {port: 70000}", "admin_api: {rate_limit_per_token: -1}",
        "admin_api: {rate_limit_burst: 0}"}) {
    auto r = Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("admin_api."), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace sg::admin
