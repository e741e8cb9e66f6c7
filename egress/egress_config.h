// The `egress:` configuration section: where mail goes and how.
//
//   egress:
//     helo_name: gw.example.org
//     inbound:  {transport: smtp, hosts: ["mail.internal:25"], tls: {mode: opportunistic}}
//     outbound: {transport: mx}                 # or smtp (smarthost) or maildir
//     routes:   [{domains: [partner.example], transport: smtp, hosts: ["mx.partner:25"],
//                 tls: {mode: required, verify: true}}]
//     dns: {servers: ["127.0.0.1:5353"]}
//     retry: {initial: 1m, multiplier: 2, max_interval: 1h, max_age: 5d}
//
// docs/configuration.md documents every key and its default.
//
// Threading: plain values; parsed once at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/admin_listener_config.h"
#include "common/config_node.h"
#include "common/result.h"
#include "egress/egress_destination.h"
#include "egress/egress_dsn_limit.h"

namespace sg::egress {

enum class TransportKind {
  kMx,       // the recipient domain's MX hosts (A/AAAA fallback), via DNS
  kSmtp,     // fixed next hops in order: a smarthost or the organisation's server
  kMaildir,  // a local Maildir (the embedded demo)
};

enum class TlsMode {
  kNone,           // never STARTTLS
  kOpportunistic,  // STARTTLS when offered; plain text otherwise
  kRequired,       // STARTTLS or defer; never plain text
};

struct TlsPolicy {
  TlsMode mode = TlsMode::kOpportunistic;
  bool verify = false;  // verify the certificate chain and the host name (required only)
  std::string ca_file;  // empty: the system trust store
};

struct HostPort {
  std::string host;  // name or IP literal (no brackets)
  uint16_t port = 25;
};

struct RouteConfig {
  std::string name;  // "inbound", "outbound", "routes[0]": metrics label and logs
  TransportKind transport = TransportKind::kMx;
  std::vector<HostPort> hosts;  // kSmtp: tried in order
  uint16_t mx_port = 25;        // kMx: port used on every MX host
  TlsPolicy tls;
  std::string maildir_path;     // kMaildir: absolute
  int max_connections = 10;     // per destination (route + domain for MX)
  std::vector<std::string> domains;  // per-domain routes only; lower case
  // Loopback, private, ... addresses egress may connect to on this route
  // (egress_destination.h); every other such address is refused.
  std::vector<Network> allowed_networks;
  std::string config_path;  // "egress.outbound", "egress.routes[2]": for messages
  // 0 for the config file's routes; a tenant's route from the registry gets
  // a new number whenever it changes, so connections and TLS contexts of
  // the old one are never reused for it (RouteKey).
  uint64_t generation = 0;
};

// The key of a route's connections and TLS context: its name, plus the
// generation of a registry route.
std::string RouteKey(const RouteConfig& route);

// Deadlines of the SMTP client for each stage of a session, RFC 5321
// 4.5.3.2 defaults. Each reply has its own deadline from the moment the
// previous one arrived (pipelined commands too).
struct SmtpTimeouts {
  std::chrono::milliseconds connect{30'000};      // TCP connect (not in the RFC)
  std::chrono::milliseconds greeting{300'000};    // the initial 220
  std::chrono::milliseconds command{300'000};     // EHLO/HELO, STARTTLS and its handshake, RSET
  std::chrono::milliseconds mail{300'000};        // the reply to MAIL
  std::chrono::milliseconds rcpt{300'000};        // the reply to each RCPT
  std::chrono::milliseconds data_init{120'000};   // the 354 to DATA
  std::chrono::milliseconds data_block{180'000};  // each block of message data written
  std::chrono::milliseconds data_done{600'000};   // the reply to the final "."
  // The whole message must be written within data_block + size / data_min_rate
  // (bytes per second), so a peer that reads a trickle cannot hold a large
  // message and its connection for hours. 0: no such limit.
  uint64_t data_min_rate = 8 << 10;
};

// How long writing `size` bytes of message data may take in all.
std::chrono::milliseconds DataTransferBudget(const SmtpTimeouts& timeouts, uint64_t size);

struct SmtpClientConfig {
  std::string helo_name = "localhost";
  SmtpTimeouts timeouts;
  std::chrono::milliseconds idle_timeout{5'000};  // reused connection kept open this long
  int max_messages_per_connection = 100;
};

struct RetryConfig {
  std::chrono::milliseconds initial{60'000};
  int multiplier = 2;
  std::chrono::milliseconds max_interval{3'600'000};
  std::chrono::milliseconds max_age{5LL * 24 * 3'600'000};  // then a DSN (4.4.7)
};

struct DnsConfig {
  std::vector<HostPort> servers;  // IP literals (dns_server_address.h); empty: resolv.conf
  std::chrono::milliseconds timeout{5'000};
  // The servers are validating resolvers (unbound on 127.0.0.1) whose AD bit
  // is believed (common/dns/dns_resolver.h); needs servers. DANE needs it.
  bool trust_ad = false;
};

// egress.dane: DANE TLSA (RFC 7672) for kMx routes (egress_dane.h). Off by
// default; needs egress.dns.trust_ad (a validating resolver). Answers are
// cached per MX host for their TTL, capped at max_ttl, at most
// cache_entries hosts.
struct DaneConfig {
  bool enabled = false;
  std::chrono::milliseconds max_ttl{3'600'000};
  int cache_entries = 10'000;
};

// egress.mta_sts: MTA-STS (RFC 8461) for kMx routes (egress_mta_sts.h).
// Off by default. The policy host mta-sts.<domain> is resolved through
// egress.dns like the MX hosts; its certificate is verified against
// ca_file (or the system store), which also verifies the MX hosts of a
// policy in force.
struct MtaStsConfig {
  bool enabled = false;
  std::string cache_path;  // absolute; "" keeps policies in memory only
  std::chrono::milliseconds fetch_timeout{10'000};
  std::string ca_file;        // "" : the system trust store
  uint16_t https_port = 443;  // of mta-sts.<domain>: only tests change it
};

// egress.admin: the QueueAdmin gRPC service of a separately started egress
// (`smimegate egress`), so that `smimegatectl queue --egress HOST:PORT`
// reaches each pod's own queue (docs/operations.md). Mutual TLS; only the
// admin role may call. Off while `listen` is empty; `smimegate run` serves
// the same service on the keyservice's listener instead.
using EgressAdminConfig = AdminListenerConfig;  // common/admin_listener_config.h

struct EgressConfig {
  EgressAdminConfig admin;
  RouteConfig inbound;
  RouteConfig outbound;
  std::vector<RouteConfig> routes;  // per-domain outbound routes, first match wins
  SmtpClientConfig smtp;
  RetryConfig retry;
  DnsConfig dns;
  std::string consumer_group = "egress";
  std::string dedupe_path;  // absolute; RocksDB directory
  std::chrono::milliseconds dedupe_ttl{7LL * 24 * 3'600'000};
  int max_inflight = 256;  // records being delivered at once
  std::chrono::milliseconds poll_interval{20};
  // Poll the deliver topic as soon as the queue says records are durable
  // there (Consumer::SetReadyCallback), not only every poll_interval.
  bool wake_on_data = true;
  // Threads that resolve body references (egress_body_fetcher.h) off the
  // loop; 0: on the loop itself; -1 (default): 2 when the queue keeps no
  // pins (Kafka: a fetch from a broker), 0 when it does (embedded: a local
  // read, cheaper than the thread hop; docs/benchmarks.md).
  int body_fetch_threads = -1;
  std::chrono::milliseconds shutdown_timeout{10'000};
  // A rebalance that takes partitions from this egress waits this long for
  // their records being delivered, then commits and lets them go; 0: no
  // waiting (egress_service.h, "Rebalancing").
  std::chrono::milliseconds rebalance_drain_timeout{20'000};
  std::string postmaster;  // From: of DSNs; default postmaster@helo_name
  // The gateway's public addresses its interfaces do not show (NAT, a load
  // balancer): never a destination (a mail loop).
  std::vector<Network> own_addresses;
  DsnRateLimit dsn_rate_limit;  // DSNs to the internet, per recipient domain
  MtaStsConfig mta_sts;
  DaneConfig dane;
};

Result<EgressConfig> ParseEgressConfig(const config::ConfigNode& section,
                                       const std::string& data_dir);

// "host", "host:25", "[::1]:25", "::1"; kInvalidArgument naming the value.
Result<HostPort> ParseHostPort(const std::string& text, uint16_t default_port);

}  // namespace sg::egress
