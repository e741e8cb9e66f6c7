// The `ingress` configuration section: defaults, a full example, and errors
// that name the key, the line and the fix.
#include "ingress/ingress_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;

class IngressConfigTest : public ::testing::Test {
 protected:
  Result<IngressConfig> Parse(const std::string& yaml) {
    auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
    if (!doc.ok()) return doc.error();
    doc_ = std::make_unique<config::ConfigDocument>(std::move(*doc));
    auto root = doc_->Root();
    auto section = root.Map("ingress");
    if (!section.ok()) return section.error();
    return ParseIngressConfig(*section, dir_.path());
  }
  std::string ErrorOf(const std::string& yaml) {
    auto r = Parse(yaml);
    return r.ok() ? "ok" : r.error().message;
  }
  void Touch(const std::string& name) { std::ofstream(dir_.Sub(name)) << "x"; }

  sg::testing::TempDir dir_;
  std::unique_ptr<config::ConfigDocument> doc_;
};

TEST_F(IngressConfigTest, Defaults) {
  auto c = Parse("ingress: {}\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->hostname.empty());
  EXPECT_EQ(c->threads, 0);
  EXPECT_EQ(c->max_message_size, 50ull << 20);
  EXPECT_EQ(c->max_recipients, 100u);
  EXPECT_EQ(c->max_connections, 1000u);
  EXPECT_EQ(c->max_connections_per_ip, 20u);
  EXPECT_EQ(c->max_bad_commands, 10u);
  EXPECT_EQ(c->max_line_length, 998u);
  EXPECT_EQ(c->max_received_headers, 50u);
  EXPECT_EQ(c->max_bytes_in_flight, 512ull << 20);
  EXPECT_EQ(c->ipv6_client_prefix, 64);
  EXPECT_EQ(c->session_timeout, 30min);
  EXPECT_EQ(c->close_timeout, 10s);
  EXPECT_EQ(c->auth_threads, 2u);
  EXPECT_EQ(c->auth_lockout_user.max_failures, 5u);
  EXPECT_EQ(c->auth_lockout_client.max_failures, 20u);
  EXPECT_EQ(c->auth_lockout_user.window, 15min);
  EXPECT_EQ(c->auth_lockout_user.lockout, 15min);
  EXPECT_EQ(c->command_timeout, 5min);
  EXPECT_EQ(c->data_timeout, 3min);
  EXPECT_EQ(c->tls_handshake_timeout, 30s);
  EXPECT_EQ(c->queue_ack_timeout, 30s);
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].name, "mx");
  EXPECT_EQ(c->listeners[0].port, 25);
  EXPECT_EQ(c->listeners[0].role, Role::kMx);
  EXPECT_FALSE(c->listeners[0].tls.has_value());
}

TEST_F(IngressConfigTest, FullExample) {
  Touch("cert.pem");
  Touch("key.pem");
  Touch("ca.pem");
  auto c = Parse(R"(
ingress:
  hostname: gw.example.org
  threads: 4
  max_message_size: 25MB
  max_recipients: 500
  timeouts:
    command: 2m
    data_block: 90s
    queue_ack: 10s
  auth:
    users:
      - name: relayuser
        argon2: "$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQ$abc"
        senders: [example.org, "ceo@example.net"]
      - name: mailer@example.com
        argon2: "$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQ$abc"
  sender_bindings:
    - {certificate: "/CN=mail.example.net", senders: [example.net]}
    - {network: 10.1.0.0/16, senders: ["@example.org"]}
  listeners:
    - name: mx
      address: "::"
      port: 25
      tls: {cert: cert.pem, key: key.pem}
    - name: relay
      address: 10.0.0.5
      role: relay
      trusted_networks: [10.0.0.0/8, "2001:db8::/32", 192.0.2.7]
      tls: {cert: cert.pem, key: key.pem, client_ca: ca.pem}
      require_tls: true
      auth: true
      senders: [example.org]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->hostname, "gw.example.org");
  EXPECT_EQ(c->max_message_size, 25ull << 20);
  EXPECT_EQ(c->command_timeout, 2min);
  EXPECT_EQ(c->data_timeout, 90s);
  EXPECT_EQ(c->queue_ack_timeout, 10s);
  EXPECT_EQ(c->auth_users.count("relayuser"), 1u);
  const SenderBindings& b = c->sender_bindings;
  ASSERT_EQ(b.auth_users.size(), 2u);
  EXPECT_EQ(b.auth_users[0].first, "relayuser");
  EXPECT_TRUE(b.auth_users[0].second.Allows("x@example.org"));
  EXPECT_TRUE(b.auth_users[0].second.Allows("ceo@example.net"));
  EXPECT_FALSE(b.auth_users[0].second.Allows("cfo@example.net"));
  EXPECT_TRUE(b.auth_users[1].second.Allows("x@example.com"));  // its own domain by default
  EXPECT_FALSE(b.auth_users[1].second.Allows("x@example.org"));
  ASSERT_EQ(b.certificates.size(), 1u);
  EXPECT_EQ(b.certificates[0].first, "/CN=mail.example.net");
  ASSERT_EQ(b.networks.size(), 1u);
  EXPECT_TRUE(b.networks[0].first.Contains("10.1.2.3"));
  EXPECT_TRUE(b.networks[0].second.Allows("a@example.org"));
  ASSERT_TRUE(c->listeners[1].senders.has_value());
  EXPECT_EQ(c->listeners[1].senders->where, "ingress.listeners[1].senders");
  EXPECT_FALSE(c->listeners[0].senders.has_value());
  ASSERT_EQ(c->listeners.size(), 2u);
  const ListenerConfig& relay = c->listeners[1];
  EXPECT_EQ(relay.config_path, "ingress.listeners[1]");
  EXPECT_EQ(relay.port, 587);  // the submission port by default for relay
  EXPECT_EQ(relay.role, Role::kRelay);
  ASSERT_TRUE(relay.tls.has_value());
  EXPECT_EQ(relay.tls->cert_file, dir_.Sub("cert.pem"));  // relative to data_dir
  EXPECT_EQ(relay.tls->client_ca_file, dir_.Sub("ca.pem"));
  EXPECT_TRUE(relay.require_tls);
  EXPECT_TRUE(relay.auth);
  ASSERT_EQ(relay.trusted_networks.size(), 3u);
  EXPECT_TRUE(AnyContains(relay.trusted_networks, "10.200.1.1"));
  EXPECT_TRUE(AnyContains(relay.trusted_networks, "2001:db8::25"));
  EXPECT_TRUE(AnyContains(relay.trusted_networks, "192.0.2.7"));
  EXPECT_FALSE(AnyContains(relay.trusted_networks, "192.0.2.8"));
  EXPECT_FALSE(AnyContains(relay.trusted_networks, "11.0.0.1"));
  EXPECT_TRUE(doc_->CheckNoUnknownKeys().ok());
}

TEST_F(IngressConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("ingress:\n  listeners:\n    - {name: a, role: submission}\n"),
            "config ingress.listeners[0].role (line 3): expected one of mx, relay, got "
            "\"submission\"");
  EXPECT_EQ(ErrorOf("ingress:\n  listeners:\n    - {name: a, trusted_networks: [10.0.0.0/33]}\n"),
            "config ingress.listeners[0].trusted_networks (line 3): \"10.0.0.0/33\": prefix "
            "length must be 0..32");
  EXPECT_EQ(ErrorOf("ingress:\n  listeners:\n    - {name: a, trusted_networks: [intranet]}\n"),
            "config ingress.listeners[0].trusted_networks (line 3): \"intranet\" is not an IP "
            "address or CIDR network");
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a, auth: true}\n")
                .find("config ingress.listeners[0].auth (line 3): AUTH is only offered after "
                      "STARTTLS"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a, require_tls: true}\n")
                .find("ingress.listeners[0].require_tls"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("ingress:\n  listeners:\n    - name: a\n      tls: {cert: nope.pem, key: k}\n"),
            "config ingress.listeners[0].tls.cert (line 4): file " + dir_.Sub("nope.pem") +
                " not found");
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a}\n    - {name: a}\n")
                .find("listener name \"a\" is used twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a, port: 70000}\n")
                .find("ingress.listeners[0].port"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  auth:\n    users:\n      - {name: u, argon2: plaintext}\n")
                .find("ingress.auth.users[0].argon2"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  timeouts: {command: 0s}\n").find("ingress.timeouts.command"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  auth:\n    users:\n      - {name: relay, argon2: $argon2id$x}\n")
                .find("ingress.auth.users[0].senders (line 4): missing: list the domains or "
                      "addresses user \"relay\" may send as"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  auth:\n    users:\n      - {name: r, argon2: $argon2id$x, "
                    "senders: [\"a b\"]}\n")
                .find("ingress.auth.users[0].senders: \"a b\" is neither a domain nor an address"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  sender_bindings:\n    - {network: 10.0.0.0/8, certificate: x, "
                    "senders: [example.org]}\n")
                .find("give exactly one of certificate"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  sender_bindings:\n    - {network: 10.0.0.0/8}\n")
                .find("ingress.sender_bindings[0].senders"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a, senders: [example.org]}\n")
                .find("only relay listeners bind senders"),
            std::string::npos);
  Touch("c.pem");
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - name: a\n      tls: {cert: c.pem, key: c.pem}\n"
                    "      auth: true\n")
                .find("no users in ingress.auth.users"),
            std::string::npos);
}

TEST_F(IngressConfigTest, RecipientVerification) {
  { std::ofstream(dir_.Sub("rcpt.txt")) << "a@example.org\n"; }
  auto c = Parse(R"(
ingress:
  recipient_verification:
    threads: 4
    cache: {positive: 2h, negative: 5m, max_entries: 50}
    unknown_limit: {failures: 7, window: 1m, duration: 3m}
    domains:
      - {domain: Example.ORG, sources: [registry, list, callout], list: rcpt.txt,
         callout: {host: mail.internal, port: 2525, timeout: 3s}}
      - {domain: "*", sources: [registry]}
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& rv = c->recipient_verification;
  EXPECT_EQ(rv.threads, 4u);
  EXPECT_EQ(rv.cache.positive, 2h);
  EXPECT_EQ(rv.cache.negative, 5min);
  EXPECT_EQ(rv.cache.max_entries, 50u);
  EXPECT_EQ(rv.unknown_limit.max_failures, 7u);
  EXPECT_EQ(rv.unknown_limit.lockout, 3min);
  ASSERT_EQ(rv.domains.size(), 2u);
  EXPECT_EQ(rv.domains[0].domain, "example.org");
  EXPECT_EQ(rv.domains[0].sources, (std::vector<std::string>{"registry", "list", "callout"}));
  EXPECT_EQ(rv.domains[0].list_file, dir_.Sub("rcpt.txt"));
  ASSERT_TRUE(rv.domains[0].callout.has_value());
  EXPECT_EQ(rv.domains[0].callout->host, "mail.internal");
  EXPECT_EQ(rv.domains[0].callout->port, 2525);
  EXPECT_EQ(rv.domains[0].callout->timeout, 3s);
  EXPECT_EQ(rv.domains[1].domain, "*");
  EXPECT_TRUE(doc_->CheckNoUnknownKeys().ok());
  // Defaults: nothing verified.
  auto d = Parse("ingress: {}\n");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->recipient_verification.domains.empty());
  EXPECT_EQ(d->recipient_verification.threads, 8u);
  EXPECT_EQ(d->recipient_verification.cache.positive, 1h);
  EXPECT_EQ(d->recipient_verification.cache.negative, 10min);
  EXPECT_EQ(d->recipient_verification.unknown_limit.max_failures, 20u);
  // Errors name the key.
  const std::string head = "ingress:\n  recipient_verification:\n    domains:\n      - ";
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [nis]}\n")
                .find("domains[0].sources (line 4): unknown source \"nis\""),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [list]}\n")
                .find("domains[0].list"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [callout]}\n")
                .find("domains[0].callout.host"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [registry], list: rcpt.txt}\n")
                .find("\"list\" is not among the sources"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: []}\n").find("missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [list, list], list: rcpt.txt}\n")
                .find("listed twice"),
            std::string::npos);
}

TEST_F(IngressConfigTest, RecipientVerificationByLdap) {
  { std::ofstream(dir_.Sub("ldap.pw")) << "pw\n"; }
  { std::ofstream(dir_.Sub("ca.pem")) << "x"; }
  auto c = Parse(R"y(
ingress:
  recipient_verification:
    domains:
      - domain: example.org
        sources: [ldap]
        ldap:
          url: ldaps://ldap.internal:636
          tls_ca_file: ca.pem
          bind_dn: cn=gateway,dc=example,dc=org
          bind_password_file: ldap.pw
          base_dn: ou=people,dc=example,dc=org
          filter: "(|(mail=%s)(mailAlternateAddress=%s))"
          timeout: 2s
          max_idle: 2
      - {domain: example.net, sources: [ldap], ldap: {url: "ldap://10.0.0.5", base_dn: "dc=net"}}
)y");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& d = c->recipient_verification.domains;
  ASSERT_TRUE(d[0].ldap.has_value());
  EXPECT_EQ(d[0].ldap->url, "ldaps://ldap.internal:636");
  EXPECT_EQ(d[0].ldap->tls_ca_file, dir_.Sub("ca.pem"));
  EXPECT_EQ(d[0].ldap->bind_dn, "cn=gateway,dc=example,dc=org");
  EXPECT_EQ(d[0].ldap->bind_password_file, dir_.Sub("ldap.pw"));
  EXPECT_EQ(d[0].ldap->base_dn, "ou=people,dc=example,dc=org");
  EXPECT_EQ(d[0].ldap->filter, "(|(mail=%s)(mailAlternateAddress=%s))");
  EXPECT_EQ(d[0].ldap->timeout, 2s);
  EXPECT_EQ(d[0].ldap->max_idle, 2u);
  // Defaults: StartTLS, (mail=%s), 5 s, anonymous.
  ASSERT_TRUE(d[1].ldap.has_value());
  EXPECT_TRUE(d[1].ldap->starttls);
  EXPECT_EQ(d[1].ldap->filter, "(mail=%s)");
  EXPECT_EQ(d[1].ldap->timeout, 5s);
  EXPECT_TRUE(d[1].ldap->bind_dn.empty());
  EXPECT_TRUE(doc_->CheckNoUnknownKeys().ok());
  const std::string head = "ingress:\n  recipient_verification:\n    domains:\n      - ";
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [ldap]}\n").find("domains[0].ldap.url"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [ldap], ldap: {url: \"http://x\", "
                           "base_dn: dc=x}}\n")
                .find("domains[0].ldap.url: must start with ldap:// or ldaps://"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [ldap], ldap: {url: \"ldap://x\", "
                           "base_dn: dc=x, filter: \"(mail=alice)\"}}\n")
                .find("domains[0].ldap.filter: must contain %s"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [ldap], ldap: {url: \"ldap://x\", "
                           "base_dn: dc=x, bind_dn: cn=gw}}\n")
                .find("domains[0].ldap.bind_password_file"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "{domain: a.example, sources: [registry], ldap: {url: \"ldap://x\"}}\n")
                .find("\"ldap\" is not among the sources"),
            std::string::npos);
}

TEST_F(IngressConfigTest, UnknownKeysAreReported) {
  auto c = Parse("ingress:\n  max_mesage_size: 10MB\n");
  ASSERT_TRUE(c.ok());
  auto st = doc_->CheckNoUnknownKeys();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("ingress.max_mesage_size"), std::string::npos);
}

}  // namespace
}  // namespace sg::ingress

namespace sg::ingress {
namespace {

TEST_F(IngressConfigTest, ProxyProtocolV2NeedsTheBalancersNetworks) {
  auto c = Parse("ingress:\n  listeners:\n    - {name: a, proxy_protocol: v2, "
                 "proxy_protocol_from: [10.1.0.0/16], proxy_protocol_timeout: 2s}\n    - {name: b}\n");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->listeners[0].proxy_v2);
  ASSERT_EQ(c->listeners[0].proxy_from.size(), 1u);
  EXPECT_EQ(c->listeners[0].proxy_timeout, std::chrono::seconds(2));
  EXPECT_FALSE(c->listeners[1].proxy_v2);  // default: none
  EXPECT_EQ(c->listeners[1].proxy_timeout, std::chrono::seconds(5));
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a, proxy_protocol: v2}\n")
                .find("proxy_protocol_from (line 3): required with proxy_protocol: v2"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ingress:\n  listeners:\n    - {name: a, proxy_protocol: v1}\n")
                .find("expected one of none, v2"),
            std::string::npos);
}

}  // namespace
}  // namespace sg::ingress
