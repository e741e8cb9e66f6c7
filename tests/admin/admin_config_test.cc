// keyservice.admin_api: defaults (off, loopback, self-signed), TLS files in
// pairs, limits within their bounds, errors naming the key.
#include <gtest/gtest.h>

#include "admin/admin_config.h"
#include "common/admin_listener_config.h"

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
  EXPECT_EQ(c->unauthenticated_limit.rate.per_second, 1);
  EXPECT_EQ(c->unauthenticated_limit.rate.burst, 20u);
  EXPECT_EQ(c->unauthenticated_limit.max_clients, 10000u);
}

TEST(AdminConfigTest, SettingsAndTheirBounds) {
  auto c = Parse(
      "admin_api: {enabled: true, address: 0.0.0.0, port: 9443, tls: {cert: a.pem, key: /k.pem},"
      " max_body_bytes: 64KiB, request_timeout: 30s, max_connections: 32,"
      " rate_limit_per_token: 5, rate_limit_burst: 7, rate_limit_unauthenticated_per_second: 3,"
      " rate_limit_unauthenticated_burst: 9, rate_limit_unauthenticated_max_clients: 50}");
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
  EXPECT_EQ(c->unauthenticated_limit.rate.per_second, 3);
  EXPECT_EQ(c->unauthenticated_limit.rate.burst, 9u);
  EXPECT_EQ(c->unauthenticated_limit.max_clients, 50u);
  for (const std::string bad :
       {"admin_api: {tls: {cert: a.pem}}", "admin_api: {max_body_bytes: 10}",
        "admin_api: {request_timeout: 0s}", "admin_api: {max_connections: 0}",
        "admin_api: {port: 70000}", "admin_api: {rate_limit_per_token: -1}",
        "admin_api: {rate_limit_burst: 0}", "admin_api: {rate_limit_unauthenticated_burst: 0}",
        "admin_api: {rate_limit_unauthenticated_max_clients: 0}",
        "admin_api: {rate_limit_unauthenticated_per_second: -1}"}) {
    auto r = Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("admin_api."), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace sg::admin

namespace sg::admin {
namespace {

// keyservice.admin_api.portal (docs/admin-api.md "Portal"): off by default
// (the in-process portal, or none), admin credentials under data_dir, an
// endpoint without a port named as the key at fault.
TEST(AdminConfigTest, PortalLink) {
  auto off = Parse("{}");
  ASSERT_TRUE(off.ok()) << off.error().ToString();
  EXPECT_EQ(off->portal.endpoint, "");
  EXPECT_EQ(off->portal.credentials, "/data/credentials/admin");
  EXPECT_EQ(off->portal.server_name, "smimegate-portal");
  auto on = Parse(
      "admin_api: {portal: {endpoint: 'smimegate-portal:7445', credentials: /etc/creds,"
      " server_name: portal.internal}}");
  ASSERT_TRUE(on.ok()) << on.error().ToString();
  EXPECT_EQ(on->portal.endpoint, "smimegate-portal:7445");
  EXPECT_EQ(on->portal.credentials, "/etc/creds");
  EXPECT_EQ(on->portal.server_name, "portal.internal");
  auto bad = Parse("admin_api: {portal: {endpoint: smimegate-portal}}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("endpoint"), std::string::npos) << bad.error().message;
}

// portal.admin and egress.admin share one parser (common/admin_listener_config.h).
TEST(AdminConfigTest, StageAdminListener) {
  auto doc = config::ConfigDocument::LoadString(
      "admin: {listen: '0.0.0.0:7445', tls: {key_file: /k.pem}}", "test.yaml");
  ASSERT_TRUE(doc.ok());
  auto c = ParseAdminListener(*doc->Root().Map("admin"), "portal", "/data");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->listen, "0.0.0.0:7445");
  EXPECT_EQ(c->cert_file, "/data/credentials/portal/cert.pem");
  EXPECT_EQ(c->key_file, "/k.pem");
  EXPECT_EQ(c->client_ca_file, "/data/credentials/portal/ca.pem");
  for (const char* listen : {"7445", "host:", "host:0", "host:70000", "host:x"}) {
    auto bad_doc = config::ConfigDocument::LoadString(
        std::string("admin: {listen: '") + listen + "'}", "test.yaml");
    ASSERT_TRUE(bad_doc.ok());
    auto bad = ParseAdminListener(*bad_doc->Root().Map("admin"), "portal", "/data");
    EXPECT_FALSE(bad.ok()) << listen;
  }
}

}  // namespace
}  // namespace sg::admin
