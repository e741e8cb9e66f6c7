#include "egress/egress_config.h"

#include <gtest/gtest.h>

#include "egress/egress_backoff.h"
#include "egress/egress_route.h"

namespace sg::egress {
namespace {

Result<EgressConfig> Parse(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  auto section = doc->Root().Map("egress");
  if (!section.ok()) return section.error();
  auto cfg = ParseEgressConfig(*section, "/var/lib/sg");
  if (!cfg.ok()) return cfg;
  auto unknown = doc->CheckNoUnknownKeys();
  if (!unknown.ok()) return unknown.error();
  return cfg;
}

TEST(EgressConfig, DefaultsDeliverInboundToMaildirAndOutboundByMx) {
  auto cfg = Parse("egress: {}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_EQ(cfg->inbound.transport, TransportKind::kMaildir);
  EXPECT_EQ(cfg->inbound.maildir_path, "/var/lib/sg/mail/inbound");
  EXPECT_EQ(cfg->outbound.transport, TransportKind::kMx);
  EXPECT_EQ(cfg->outbound.tls.mode, TlsMode::kOpportunistic);
  EXPECT_EQ(cfg->dedupe_path, "/var/lib/sg/egress/dedupe");
  EXPECT_EQ(cfg->retry.initial, std::chrono::minutes(1));
  EXPECT_EQ(cfg->consumer_group, "egress");
}

TEST(EgressConfig, WakeOnDataIsOnByDefaultAndCanBeTurnedOff) {
  auto cfg = Parse("egress: {}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_TRUE(cfg->wake_on_data);
  cfg = Parse("egress: {wake_on_data: false}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_FALSE(cfg->wake_on_data);
  EXPECT_FALSE(Parse("egress: {wake_on_data: sometimes}\n").ok());
}

TEST(EgressConfig, BodyFetchThreadsDependOnTheQueueUnlessSet) {
  auto cfg = Parse("egress: {}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_EQ(cfg->body_fetch_threads, -1);  // Kafka 2, embedded 0 (EgressService::Start)
  cfg = Parse("egress: {body_fetch_threads: 0}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_EQ(cfg->body_fetch_threads, 0);
  auto too_many = Parse("egress: {body_fetch_threads: 65}\n");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("body_fetch_threads"), std::string::npos);
}

TEST(EgressConfig, SmtpStageTimeoutsDefaultToRfc5321AndAreConfigurable) {
  using std::chrono::minutes;
  using std::chrono::seconds;
  auto cfg = Parse("egress: {}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  const SmtpTimeouts& d = cfg->smtp.timeouts;
  EXPECT_EQ(d.connect, seconds(30));
  EXPECT_EQ(d.greeting, minutes(5));
  EXPECT_EQ(d.command, minutes(5));
  EXPECT_EQ(d.mail, minutes(5));
  EXPECT_EQ(d.rcpt, minutes(5));
  EXPECT_EQ(d.data_init, minutes(2));
  EXPECT_EQ(d.data_block, minutes(3));
  EXPECT_EQ(d.data_done, minutes(10));
  EXPECT_EQ(d.data_min_rate, 8u << 10);
  cfg = Parse(R"(
egress:
  smtp: {connect_timeout: 1s, greeting_timeout: 2s, command_timeout: 3s, mail_timeout: 4s,
         rcpt_timeout: 5s, data_init_timeout: 6s, data_block_timeout: 7s, data_done_timeout: 8s,
         data_min_rate: 1MB}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  const SmtpTimeouts& t = cfg->smtp.timeouts;
  EXPECT_EQ(t.connect, seconds(1));
  EXPECT_EQ(t.greeting, seconds(2));
  EXPECT_EQ(t.command, seconds(3));
  EXPECT_EQ(t.mail, seconds(4));
  EXPECT_EQ(t.rcpt, seconds(5));
  EXPECT_EQ(t.data_init, seconds(6));
  EXPECT_EQ(t.data_block, seconds(7));
  EXPECT_EQ(t.data_done, seconds(8));
  EXPECT_EQ(t.data_min_rate, 1u << 20);
  auto bad = Parse("egress: {smtp: {rcpt_timeout: 0s}}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("egress.smtp.rcpt_timeout"), std::string::npos)
      << bad.error().message;
}

TEST(EgressConfig, DemoMaildirLayout) {
  auto cfg = Parse(R"(
egress:
  inbound: {transport: maildir, path: mail/inbound}
  outbound: {transport: maildir, path: /abs/outbound}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EXPECT_EQ(cfg->inbound.maildir_path, "/var/lib/sg/mail/inbound");
  EXPECT_EQ(cfg->outbound.transport, TransportKind::kMaildir);
  EXPECT_EQ(cfg->outbound.maildir_path, "/abs/outbound");
}

TEST(EgressConfig, FullRoutesAndPolicies) {
  auto cfg = Parse(R"(
egress:
  helo_name: gw.example.org
  inbound: {transport: smtp, hosts: ["mail.internal:2525", "[::1]:25"], allowed_networks: ["::1"]}
  outbound: {transport: smtp, hosts: [smarthost.example.net], tls: {mode: required, verify: true, ca_file: ca.pem}}
  routes:
    - {domains: [Partner.Example, .sub.example], transport: mx, port: 2526, max_connections: 3}
  dns: {servers: ["127.0.0.1:5353"], timeout: 2s}
  retry: {initial: 30s, multiplier: 3, max_interval: 10m, max_age: 1d}
  smtp: {idle_timeout: 1s, max_messages_per_connection: 7}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  ASSERT_EQ(cfg->inbound.hosts.size(), 2u);
  EXPECT_EQ(cfg->inbound.hosts[0].host, "mail.internal");
  EXPECT_EQ(cfg->inbound.hosts[0].port, 2525);
  EXPECT_EQ(cfg->inbound.hosts[1].host, "::1");
  EXPECT_EQ(cfg->outbound.hosts[0].port, 25);
  EXPECT_EQ(cfg->outbound.tls.mode, TlsMode::kRequired);
  EXPECT_TRUE(cfg->outbound.tls.verify);
  ASSERT_EQ(cfg->routes.size(), 1u);
  EXPECT_EQ(cfg->routes[0].domains[0], "partner.example");
  EXPECT_EQ(cfg->routes[0].mx_port, 2526);
  EXPECT_EQ(cfg->routes[0].max_connections, 3);
  ASSERT_EQ(cfg->dns.servers.size(), 1u);
  EXPECT_EQ(cfg->dns.servers[0].port, 5353);
  EXPECT_EQ(cfg->retry.multiplier, 3);
  EXPECT_EQ(cfg->smtp.max_messages_per_connection, 7);
  EXPECT_EQ(cfg->postmaster, "postmaster@gw.example.org");
}

TEST(EgressConfig, ErrorsNameTheKey) {
  auto no_hosts = Parse("egress: {inbound: {transport: smtp}}\n");
  ASSERT_FALSE(no_hosts.ok());
  EXPECT_NE(no_hosts.error().message.find("egress.inbound.hosts"), std::string::npos)
      << no_hosts.error().message;

  auto verify_opportunistic = Parse("egress: {outbound: {tls: {verify: true}}}\n");
  ASSERT_FALSE(verify_opportunistic.ok());
  EXPECT_NE(verify_opportunistic.error().message.find("egress.outbound.tls.verify"),
            std::string::npos);

  // DNS servers are IP literals (common/dns/dns_server_address.h, like the
  // keyservice's and discovery's): a name would only fail later in c-ares.
  auto dns_name = Parse("egress: {dns: {servers: [\"127.0.0.1\", \"ns1.example:53\"]}}\n");
  ASSERT_FALSE(dns_name.ok());
  EXPECT_NE(dns_name.error().message.find("egress.dns.servers"), std::string::npos)
      << dns_name.error().message;
  EXPECT_NE(dns_name.error().message.find("entry 1"), std::string::npos)
      << dns_name.error().message;
  EXPECT_NE(dns_name.error().message.find("not an IP address"), std::string::npos)
      << dns_name.error().message;

  auto bad_port = Parse("egress: {inbound: {transport: smtp, hosts: [\"mail:99999\"]}}\n");
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.error().message.find("port must be a number"), std::string::npos);

  auto inbound_mx = Parse("egress: {inbound: {transport: mx}}\n");
  ASSERT_FALSE(inbound_mx.ok());

  auto unknown = Parse("egress: {outbound: {transprot: mx}}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("transprot"), std::string::npos);
}

TEST(EgressConfig, DaneNeedsATrustedValidatingResolver) {
  auto off = Parse("egress: {}\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->dane.enabled);
  EXPECT_FALSE(off->dns.trust_ad);

  auto untrusted = Parse("egress: {dns: {servers: [\"127.0.0.1\"]}, dane: {enabled: true}}\n");
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message.find("egress.dane.enabled"), std::string::npos)
      << untrusted.error().message;
  EXPECT_NE(untrusted.error().message.find("egress.dns.trust_ad: true"), std::string::npos);

  auto no_servers = Parse("egress: {dns: {trust_ad: true}, dane: {enabled: true}}\n");
  ASSERT_FALSE(no_servers.ok());
  EXPECT_NE(no_servers.error().message.find("egress.dns.trust_ad"), std::string::npos)
      << no_servers.error().message;
  EXPECT_NE(no_servers.error().message.find("unbound"), std::string::npos);

  auto on = Parse(
      "egress: {dns: {servers: [\"127.0.0.1\"], trust_ad: true}, "
      "dane: {enabled: true, max_ttl: 10m, cache_entries: 50}}\n");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->dane.enabled);
  EXPECT_EQ(on->dane.max_ttl, std::chrono::minutes(10));
  EXPECT_EQ(on->dane.cache_entries, 50);
}

TEST(EgressRouter, InboundGoesToTheOrganisationAndOutboundByDomain) {
  auto cfg = Parse(R"(
egress:
  inbound: {transport: smtp, hosts: ["mail.internal"]}
  routes:
    - {name: partner, domains: [partner.example, .group.example], transport: smtp, hosts: [relay.partner]}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  Router router(*cfg);
  namespace v1 = smimegate::v1;
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_INBOUND, "x@partner.example").name, "inbound");
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_OUTBOUND, "x@PARTNER.example").name, "partner");
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_OUTBOUND, "x@a.group.example").name, "partner");
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_OUTBOUND, "x@group.example").name, "outbound");
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_OUTBOUND, "x@other.example").name, "outbound");
  EXPECT_EQ(Router::DestinationKey(cfg->outbound, "a@B.example"), "outbound|b.example");
  EXPECT_EQ(Router::DestinationKey(cfg->routes[0], "a@partner.example"), "partner");
}

TEST(EgressBackoff, ExponentialWithCapAndExpiry) {
  RetryConfig r;
  r.initial = std::chrono::seconds(60);
  r.multiplier = 2;
  r.max_interval = std::chrono::seconds(600);
  r.max_age = std::chrono::hours(1);
  EXPECT_EQ(RetryDelayMs(r, 1), 60'000);
  EXPECT_EQ(RetryDelayMs(r, 2), 120'000);
  EXPECT_EQ(RetryDelayMs(r, 4), 480'000);
  EXPECT_EQ(RetryDelayMs(r, 5), 600'000);
  EXPECT_EQ(RetryDelayMs(r, 1000), 600'000);  // no overflow
  EXPECT_FALSE(RetryExpired(r, 0, 3'599'999));
  EXPECT_TRUE(RetryExpired(r, 0, 3'600'000));
}

}  // namespace
}  // namespace sg::egress
