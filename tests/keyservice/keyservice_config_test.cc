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
  // A Unix socket under the data dir, mutual TLS from the internal CA.
  EXPECT_EQ(c->listen, "unix:/data/run/keyservice.sock");
  EXPECT_EQ(c->endpoint, "unix:/data/run/keyservice.sock");
  EXPECT_EQ(c->tls.server_name, "smimegate-keyservice");
  EXPECT_EQ(c->tls.trust_domain, "smimegate");
  EXPECT_TRUE(c->tls.cert_file.empty());
  EXPECT_EQ(c->admin_credentials, "/data/credentials/admin");
  EXPECT_EQ(ClientCredentialsDir(*c, "worker"), "/data/credentials/worker");
  EXPECT_EQ(c->kek_format, "key");
  EXPECT_EQ(c->kek_previous_env, "SMIMEGATE_KEK_PREVIOUS");
  EXPECT_EQ(c->store_path, "/data/keys");
  EXPECT_EQ(c->kek_env, "SMIMEGATE_KEK");
  EXPECT_EQ(c->key_type, KeyType::kRsa2048);
  EXPECT_EQ(c->rollover_before, std::chrono::hours(24 * 7));
  EXPECT_EQ(c->ca.validity, std::chrono::hours(24 * 365));
  // Partner trust: Mozilla's email roots, not the server bundle (issue 18).
  EXPECT_TRUE(c->trust.mozilla_email);
  EXPECT_EQ(c->trust.mozilla_module, "");  // the one the build found
  EXPECT_FALSE(c->system_roots);
}

TEST(KeyServiceConfigTest, TrustSources) {
  auto c = Parse("keyservice:\n  trust:\n    mozilla_email: false\n"
                 "    mozilla_module: /opt/nss/libnssckbi.so\n  system_roots: true\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->trust.mozilla_email);
  EXPECT_EQ(c->trust.mozilla_module, "/opt/nss/libnssckbi.so");
  EXPECT_TRUE(c->system_roots);
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

TEST(KeyServiceConfigTest, AccessSettings) {
  auto c = Parse(
      "keyservice:\n"
      "  listen: unix:/run/sg/ks.sock\n"
      "  client_credentials: /etc/sg/worker\n"
      "  admin_credentials: ''\n"
      "  kek_format: passphrase\n"
      "  kek_previous_file: old.kek\n"
      "  tls:\n"
      "    server_name: keyservice.sg.svc\n"
      "    cert_file: tls/tls.crt\n"
      "    key_file: tls/tls.key\n"
      "    client_ca_file: tls/ca.crt\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->endpoint, "unix:/run/sg/ks.sock");
  EXPECT_EQ(ClientCredentialsDir(*c, "worker"), "/etc/sg/worker");
  EXPECT_TRUE(c->admin_credentials.empty());
  EXPECT_EQ(c->tls.cert_file, "/data/tls/tls.crt");
  EXPECT_EQ(c->tls.server_name, "keyservice.sg.svc");
  EXPECT_EQ(c->kek_previous_file, "/data/old.kek");
  EXPECT_EQ(c->kek_previous_format, "passphrase");  // follows kek_format

  auto partial = Parse("keyservice:\n  tls:\n    cert_file: a.pem\n");
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.error().message.find("all three"), std::string::npos) << partial.error().message;
  auto long_path = Parse("keyservice:\n  listen: unix:/" + std::string(120, 'x') + "\n");
  ASSERT_FALSE(long_path.ok());
  EXPECT_NE(long_path.error().message.find("107 bytes"), std::string::npos);
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

TEST(KeyServiceConfigTest, CmpBackend) {
  auto c = Parse(
      "keyservice:\n  ca:\n    backend: cmp\n    cmp:\n"
      "      url: http://ca.example:8080/pkix/\n      reference: gw-1\n"
      "      secret_file: cmp.secret\n      issuing_cert_file: /etc/ca/issuing.pem\n"
      "      root_cert_file: root.pem\n      total_timeout: 5m\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->ca.backend, "cmp");
  EXPECT_EQ(c->ca.cmp.url, "http://ca.example:8080/pkix/");
  EXPECT_EQ(c->ca.cmp.protection, "mac");
  EXPECT_EQ(c->ca.cmp.secret_file, "/data/cmp.secret");
  EXPECT_EQ(c->ca.cmp.issuing_cert_file, "/etc/ca/issuing.pem");
  EXPECT_EQ(c->ca.cmp.root_cert_file, "/data/root.pem");
  EXPECT_EQ(c->ca.cmp.message_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c->ca.cmp.total_timeout, std::chrono::minutes(5));

  auto bad = Parse("keyservice:\n  ca:\n    backend: cmp\n    cmp:\n      url: ca.example\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.cmp.url"), std::string::npos) << bad.error().message;
  bad = Parse(
      "keyservice:\n  ca:\n    backend: cmp\n    cmp:\n      url: http://ca/\n"
      "      issuing_cert_file: i.pem\n      root_cert_file: r.pem\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.cmp.reference"), std::string::npos)
      << bad.error().message;
  bad = Parse(
      "keyservice:\n  ca:\n    backend: cmp\n    cmp:\n      url: http://ca/\n"
      "      protection: signature\n      issuing_cert_file: i.pem\n      root_cert_file: r.pem\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("client_cert_file"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace sg::keyservice

namespace sg::keyservice {
namespace {

TEST(KeyServiceConfigTest, PerDomainCaBackends) {
  auto c = Parse(
      "keyservice:\n  ca:\n    backend: builtin\n    domains:\n"
      "      Public.Example:\n        backend: cmp\n        cmp:\n"
      "          url: http://ca.example/pkix/\n          reference: gw-1\n"
      "          secret_file: cmp.secret\n          issuing_cert_file: i.pem\n"
      "          root_cert_file: r.pem\n"
      "      internal.example: {backend: builtin}\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->ca.backend, "builtin");
  ASSERT_EQ(c->ca.domains.size(), 2u);
  EXPECT_EQ(c->ca.domains[0].domain, "public.example") << "normalised";
  EXPECT_EQ(c->ca.domains[0].backend, "cmp");
  EXPECT_EQ(c->ca.domains[0].cmp.url, "http://ca.example/pkix/");
  EXPECT_EQ(c->ca.domains[0].cmp.secret_file, "/data/cmp.secret") << "relative to data_dir";
  EXPECT_EQ(c->ca.domains[1].domain, "internal.example");
  EXPECT_EQ(c->ca.domains[1].backend, "builtin");

  auto bad = Parse("keyservice:\n  ca:\n    domains:\n      a.example: {backend: acme}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.domains.a.example.backend"), std::string::npos)
      << bad.error().message;
  bad = Parse("keyservice:\n  ca:\n    domains:\n      a.example: {}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.domains.a.example.backend"), std::string::npos)
      << bad.error().message;
  bad = Parse("keyservice:\n  ca:\n    domains:\n      a.example:\n        backend: cmp\n"
              "        cmp: {url: ca.example}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.domains.a.example.cmp.url"), std::string::npos)
      << bad.error().message;
  bad = Parse("keyservice:\n  ca:\n    domains:\n      \"bad domain!\": {backend: builtin}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.domains.bad domain!"), std::string::npos)
      << bad.error().message;
  bad = Parse("keyservice:\n  ca:\n    domains:\n      A.example: {backend: builtin}\n"
              "      a.example: {backend: builtin}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("listed twice"), std::string::npos) << bad.error().message;
  bad = Parse("keyservice:\n  ca:\n    domains: [a.example]\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.ca.domains"), std::string::npos)
      << bad.error().message;
}

TEST(KeyServiceConfigTest, DnsAndDomainValidation) {
  auto c = Parse("keyservice:\n  dns:\n    servers: [\"127.0.0.1:5353\", \"[::1]:53\", 192.0.2.1]\n"
                 "    timeout: 2s\n  domain_validation:\n    recheck_after: 300d\n"
                 "    retry_initial: 30s\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->dns.servers.size(), 3u);
  EXPECT_EQ(c->dns.servers[0].host, "127.0.0.1");
  EXPECT_EQ(c->dns.servers[0].port, 5353);
  EXPECT_EQ(c->dns.servers[1].host, "::1");
  EXPECT_EQ(c->dns.servers[2].port, 53);
  EXPECT_EQ(c->dns.timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->domain_validation.recheck_after, std::chrono::hours(24 * 300));
  EXPECT_EQ(c->domain_validation.valid_for, std::chrono::hours(24 * 365)) << "default";
  EXPECT_EQ(c->domain_validation.retry_initial, std::chrono::seconds(30));

  auto bad = Parse("keyservice:\n  domain_validation: {recheck_after: 400d}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.domain_validation.recheck_after"), std::string::npos)
      << bad.error().message;
  bad = Parse("keyservice:\n  dns: {servers: [\"127.0.0.1:99999\"]}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.dns.servers"), std::string::npos)
      << bad.error().message;
  // A host name: c-ares takes IP literals only (common/dns/dns_server_address.h).
  bad = Parse("keyservice:\n  dns: {servers: [ns1.example]}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("keyservice.dns.servers"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("not an IP address"), std::string::npos)
      << bad.error().message;
}

TEST(KeyServiceConfigTest, BackgroundIssuance) {
  auto d = Parse("data_dir: /data\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->issuance.answer_within, std::chrono::seconds(3));
  EXPECT_EQ(d->issuance.max_concurrent, 4u);
  EXPECT_EQ(d->issuance.max_queued, 1000u);
  EXPECT_EQ(d->issuance.retry_after, std::chrono::seconds(30));
  EXPECT_EQ(d->issuance.remember_refusal, std::chrono::minutes(10));
  auto c = Parse("keyservice:\n  issuance: {answer_within: 0s, max_concurrent: 2, max_queued: 10, "
                 "retry_after: 1s, remember_refusal: 1h}\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->issuance.answer_within, std::chrono::seconds(0));
  EXPECT_EQ(c->issuance.max_concurrent, 2u);
  EXPECT_EQ(c->issuance.max_queued, 10u);
  EXPECT_EQ(c->issuance.retry_after, std::chrono::seconds(1));
  EXPECT_EQ(c->issuance.remember_refusal, std::chrono::hours(1));
  for (const char* bad : {"{answer_within: 10s}", "{max_concurrent: 0}", "{max_queued: 0}",
                          "{retry_after: -1s}"}) {
    auto e = Parse(std::string("keyservice:\n  issuance: ") + bad + "\n");
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().message.find("keyservice.issuance."), std::string::npos) << e.error().message;
  }
}

}  // namespace
}  // namespace sg::keyservice
