#include "egress/egress_config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/dns/dns_server_address.h"
#include "common/host_name.h"
#include "common/mail/address.h"

namespace sg::egress {
namespace {

std::string ResolvePath(const std::string& path, const std::string& data_dir) {
  if (path.empty() || path[0] == '/') return path;
  if (data_dir.empty()) return path;
  return data_dir + (data_dir.back() == '/' ? "" : "/") + path;
}

std::string DefaultHeloName() { return HostName(); }

Result<TlsPolicy> ParseTls(const config::ConfigNode& route) {
  TlsPolicy tls;
  SG_ASSIGN_OR_RETURN(auto node, route.Map("tls"));
  SG_ASSIGN_OR_RETURN(auto mode,
                      node.Enum("mode", {"none", "opportunistic", "required"}, "opportunistic"));
  tls.mode = mode == "none"       ? TlsMode::kNone
             : mode == "required" ? TlsMode::kRequired
                                  : TlsMode::kOpportunistic;
  SG_ASSIGN_OR_RETURN(tls.verify, node.Bool("verify", false));
  SG_ASSIGN_OR_RETURN(tls.ca_file, node.String("ca_file", ""));
  if (tls.verify && tls.mode != TlsMode::kRequired) {
    return node.ErrorAt("verify", "certificate verification needs mode: required");
  }
  return tls;
}

Result<std::vector<Network>> ParseNetworks(const config::ConfigNode& node, const std::string& key) {
  SG_ASSIGN_OR_RETURN(auto texts, node.StringList(key));
  std::vector<Network> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto n = ParseNetwork(texts[i]);
    if (!n.ok()) return node.ErrorAt(key, "entry " + std::to_string(i) + ": " + n.error().message);
    out.push_back(*n);
  }
  return out;
}

// A host written as an address that egress would refuse fails here, at
// start-up, rather than every delivery later.
Status CheckLiteralHosts(const config::ConfigNode& node, const RouteConfig& route) {
  const DestinationPolicy policy({});
  for (const auto& hp : route.hosts) {
    auto n = ParseNetwork(hp.host);
    if (!n.ok()) continue;  // a name: checked when it resolves
    if (auto cls = policy.Refuses(n->addr, route.allowed_networks)) {
      return node.ErrorAt("hosts", DestinationPolicy::RefusalText(n->addr, *cls, route.config_path) +
                                       " (add it there to deliver to it)");
    }
  }
  return OkStatus();
}

// One route map. `allowed` limits the transports (inbound mail never goes to MX).
Result<RouteConfig> ParseRoute(const config::ConfigNode& node, const std::string& name,
                               const std::vector<std::string>& allowed,
                               const std::string& default_transport,
                               const std::string& default_maildir,
                               const std::string& data_dir) {
  RouteConfig route;
  route.name = name;
  SG_ASSIGN_OR_RETURN(auto transport, node.Enum("transport", allowed, default_transport));
  route.transport = transport == "mx"     ? TransportKind::kMx
                    : transport == "smtp" ? TransportKind::kSmtp
                                          : TransportKind::kMaildir;
  SG_ASSIGN_OR_RETURN(auto port, node.Int("port", 25, 1, 65535));
  route.mx_port = static_cast<uint16_t>(port);
  SG_ASSIGN_OR_RETURN(auto hosts, node.StringList("hosts"));
  for (size_t i = 0; i < hosts.size(); ++i) {
    auto hp = ParseHostPort(hosts[i], route.mx_port);
    if (!hp.ok()) {
      return node.ErrorAt("hosts", "entry " + std::to_string(i) + ": " + hp.error().message);
    }
    route.hosts.push_back(*hp);
  }
  if (route.transport == TransportKind::kSmtp && route.hosts.empty()) {
    return node.ErrorAt("hosts", "transport smtp needs at least one host (\"mail.example.org:25\")");
  }
  SG_ASSIGN_OR_RETURN(route.tls, ParseTls(node));
  SG_ASSIGN_OR_RETURN(auto path, node.String("path", default_maildir));
  if (route.transport == TransportKind::kMaildir) {
    if (path.empty()) return node.ErrorAt("path", "transport maildir needs a path");
    route.maildir_path = ResolvePath(path, data_dir);
  }
  SG_ASSIGN_OR_RETURN(auto max_conn, node.Int("max_connections", 10, 1, 1000));
  route.max_connections = static_cast<int>(max_conn);
  route.config_path = node.path();
  SG_ASSIGN_OR_RETURN(route.allowed_networks, ParseNetworks(node, "allowed_networks"));
  SG_RETURN_IF_ERROR(CheckLiteralHosts(node, route));
  return route;
}

// egress.smtp.*_timeout and data_min_rate: one deadline per stage.
Result<SmtpTimeouts> ParseTimeouts(const config::ConfigNode& smtp) {
  SmtpTimeouts t;
  const std::pair<const char*, std::chrono::milliseconds*> keys[] = {
      {"connect_timeout", &t.connect},     {"greeting_timeout", &t.greeting},
      {"command_timeout", &t.command},     {"mail_timeout", &t.mail},
      {"rcpt_timeout", &t.rcpt},           {"data_init_timeout", &t.data_init},
      {"data_block_timeout", &t.data_block}, {"data_done_timeout", &t.data_done},
  };
  for (const auto& [key, field] : keys) {
    SG_ASSIGN_OR_RETURN(*field, smtp.Duration(key, *field));
    if (field->count() <= 0) return smtp.ErrorAt(key, "must be positive");
  }
  SG_ASSIGN_OR_RETURN(t.data_min_rate, smtp.Size("data_min_rate", t.data_min_rate));
  return t;
}

// egress.dane: needs DNSSEC-validated answers, so egress.dns.trust_ad
// (parsed before it).
Status ParseDane(const config::ConfigNode& section, EgressConfig& cfg) {
  SG_ASSIGN_OR_RETURN(auto dane, section.Map("dane"));
  SG_ASSIGN_OR_RETURN(cfg.dane.enabled, dane.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(cfg.dane.max_ttl, dane.Duration("max_ttl", cfg.dane.max_ttl));
  if (cfg.dane.max_ttl.count() < 0) return dane.ErrorAt("max_ttl", "must not be negative");
  SG_ASSIGN_OR_RETURN(auto entries,
                      dane.Int("cache_entries", cfg.dane.cache_entries, 0, 10'000'000));
  cfg.dane.cache_entries = static_cast<int>(entries);
  if (cfg.dane.enabled && !cfg.dns.trust_ad) {
    return dane.ErrorAt(
        "enabled",
        "DANE needs DNSSEC-validated answers, and egress trusts no resolver's AD bit; fix: run "
        "a validating resolver (e.g. unbound) on 127.0.0.1, list it in egress.dns.servers and "
        "set egress.dns.trust_ad: true (docs/configuration.md \"DANE\")");
  }
  return OkStatus();
}

}  // namespace

std::chrono::milliseconds DataTransferBudget(const SmtpTimeouts& timeouts, uint64_t size) {
  // No limit: a century (not max(), so deadlines can still be added to a clock).
  if (timeouts.data_min_rate == 0) return std::chrono::hours(24 * 365 * 100);
  const uint64_t ms = size / timeouts.data_min_rate * 1000 + size % timeouts.data_min_rate * 1000 / timeouts.data_min_rate;
  return timeouts.data_block + std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Result<HostPort> ParseHostPort(const std::string& text, uint16_t default_port) {
  HostPort hp;
  hp.port = default_port;
  std::string port_text;
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty host");
  if (text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "\"" + text + "\": missing ']'");
    }
    hp.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return MakeError(ErrorCode::kInvalidArgument, "\"" + text + "\": expected ':' after ']'");
      }
      port_text = text.substr(close + 2);
    }
  } else {
    auto colon = text.find(':');
    if (colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
      hp.host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    } else {
      hp.host = text;  // a name, or a bare IPv6 literal
    }
  }
  if (hp.host.empty()) return MakeError(ErrorCode::kInvalidArgument, "\"" + text + "\": empty host");
  if (!port_text.empty() || (text[0] != '[' && text.back() == ':')) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "\"" + text + "\": port must be a number from 1 to 65535");
    }
    hp.port = static_cast<uint16_t>(v);
  }
  return hp;
}

Result<EgressConfig> ParseEgressConfig(const config::ConfigNode& section,
                                       const std::string& data_dir) {
  EgressConfig cfg;
  SG_ASSIGN_OR_RETURN(cfg.smtp.helo_name, section.String("helo_name", DefaultHeloName()));
  SG_ASSIGN_OR_RETURN(cfg.postmaster, section.String("postmaster", ""));
  SG_ASSIGN_OR_RETURN(cfg.own_addresses, ParseNetworks(section, "own_addresses"));
  if (cfg.postmaster.empty()) cfg.postmaster = "postmaster@" + cfg.smtp.helo_name;

  SG_ASSIGN_OR_RETURN(auto inbound, section.Map("inbound"));
  SG_ASSIGN_OR_RETURN(cfg.inbound, ParseRoute(inbound, "inbound", {"smtp", "maildir"}, "maildir",
                                              "mail/inbound", data_dir));
  SG_ASSIGN_OR_RETURN(auto outbound, section.Map("outbound"));
  SG_ASSIGN_OR_RETURN(cfg.outbound, ParseRoute(outbound, "outbound", {"mx", "smtp", "maildir"},
                                               "mx", "mail/outbound", data_dir));
  SG_ASSIGN_OR_RETURN(auto routes, section.List("routes"));
  for (size_t i = 0; i < routes.size(); ++i) {
    std::string name = "routes[" + std::to_string(i) + "]";
    SG_ASSIGN_OR_RETURN(auto route_name, routes[i].String("name", name));
    SG_ASSIGN_OR_RETURN(auto route, ParseRoute(routes[i], route_name, {"mx", "smtp", "maildir"},
                                               "mx", "", data_dir));
    SG_ASSIGN_OR_RETURN(auto domains, routes[i].StringList("domains"));
    if (domains.empty()) {
      return routes[i].ErrorAt("domains", "a route needs at least one domain");
    }
    for (auto& d : domains) {
      // ".example.com" (every subdomain) or "example.com" (exactly that).
      const bool parent = !d.empty() && d[0] == '.';
      auto domain = mail::NormalizeDomain(parent ? d.substr(1) : d);
      if (!domain.ok()) return routes[i].ErrorAt("domains", domain.error().message);
      route.domains.push_back(parent ? "." + *domain : *domain);
    }
    cfg.routes.push_back(std::move(route));
  }

  SG_ASSIGN_OR_RETURN(auto smtp, section.Map("smtp"));
  SG_ASSIGN_OR_RETURN(cfg.smtp.timeouts, ParseTimeouts(smtp));
  SG_ASSIGN_OR_RETURN(cfg.smtp.idle_timeout, smtp.Duration("idle_timeout", std::chrono::seconds(5)));
  SG_ASSIGN_OR_RETURN(auto per_conn, smtp.Int("max_messages_per_connection", 100, 1, 100000));
  cfg.smtp.max_messages_per_connection = static_cast<int>(per_conn);

  SG_ASSIGN_OR_RETURN(auto retry, section.Map("retry"));
  SG_ASSIGN_OR_RETURN(cfg.retry.initial, retry.Duration("initial", std::chrono::minutes(1)));
  SG_ASSIGN_OR_RETURN(auto mult, retry.Int("multiplier", 2, 1, 100));
  cfg.retry.multiplier = static_cast<int>(mult);
  SG_ASSIGN_OR_RETURN(cfg.retry.max_interval,
                      retry.Duration("max_interval", std::chrono::hours(1)));
  SG_ASSIGN_OR_RETURN(cfg.retry.max_age, retry.Duration("max_age", std::chrono::hours(24 * 5)));
  if (cfg.retry.initial.count() <= 0) return retry.ErrorAt("initial", "must be positive");

  SG_ASSIGN_OR_RETURN(auto dsn, section.Map("dsn_rate_limit"));
  SG_ASSIGN_OR_RETURN(auto dsn_max, dsn.Int("max_per_domain", cfg.dsn_rate_limit.max, 0, 1000000));
  cfg.dsn_rate_limit.max = static_cast<int>(dsn_max);
  SG_ASSIGN_OR_RETURN(cfg.dsn_rate_limit.interval,
                      dsn.Duration("interval", cfg.dsn_rate_limit.interval));
  if (cfg.dsn_rate_limit.interval.count() <= 0) return dsn.ErrorAt("interval", "must be positive");

  SG_ASSIGN_OR_RETURN(auto dns, section.Map("dns"));
  SG_ASSIGN_OR_RETURN(auto servers, dns::ParseServerList(dns));
  for (auto& s : servers) cfg.dns.servers.push_back(HostPort{std::move(s.host), s.port});
  SG_ASSIGN_OR_RETURN(cfg.dns.timeout, dns.Duration("timeout", std::chrono::seconds(5)));
  SG_ASSIGN_OR_RETURN(cfg.dns.trust_ad, dns.Bool("trust_ad", false));
  if (cfg.dns.trust_ad && cfg.dns.servers.empty()) {
    return dns.ErrorAt("trust_ad",
                       "trusting the AD bit needs explicit servers; fix: list the local "
                       "validating resolver (e.g. unbound on 127.0.0.1) in egress.dns.servers");
  }
  SG_RETURN_IF_ERROR(ParseDane(section, cfg));

  SG_ASSIGN_OR_RETURN(auto sts, section.Map("mta_sts"));
  SG_ASSIGN_OR_RETURN(cfg.mta_sts.enabled, sts.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(auto sts_cache, sts.String("cache_path", "egress/mta-sts"));
  cfg.mta_sts.cache_path = ResolvePath(sts_cache, data_dir);
  SG_ASSIGN_OR_RETURN(cfg.mta_sts.fetch_timeout,
                      sts.Duration("fetch_timeout", cfg.mta_sts.fetch_timeout));
  if (cfg.mta_sts.fetch_timeout.count() <= 0) {
    return sts.ErrorAt("fetch_timeout", "must be positive; fix: 10s (the default)");
  }
  SG_ASSIGN_OR_RETURN(cfg.mta_sts.ca_file, sts.String("ca_file", ""));
  SG_ASSIGN_OR_RETURN(auto sts_port, sts.Int("https_port", 443, 1, 65535));
  cfg.mta_sts.https_port = static_cast<uint16_t>(sts_port);

  SG_ASSIGN_OR_RETURN(auto dedupe, section.Map("dedupe"));
  SG_ASSIGN_OR_RETURN(auto dedupe_path, dedupe.String("path", "egress/dedupe"));
  cfg.dedupe_path = ResolvePath(dedupe_path, data_dir);
  SG_ASSIGN_OR_RETURN(cfg.dedupe_ttl, dedupe.Duration("ttl", std::chrono::hours(24 * 7)));

  SG_ASSIGN_OR_RETURN(auto admin, section.Map("admin"));
  SG_ASSIGN_OR_RETURN(cfg.admin, ParseAdminListener(admin, "egress", data_dir));

  SG_ASSIGN_OR_RETURN(cfg.consumer_group, section.String("consumer_group", "egress"));
  SG_ASSIGN_OR_RETURN(auto inflight, section.Int("max_inflight", 256, 1, 100000));
  cfg.max_inflight = static_cast<int>(inflight);
  SG_ASSIGN_OR_RETURN(cfg.poll_interval,
                      section.Duration("poll_interval", std::chrono::milliseconds(20)));
  SG_ASSIGN_OR_RETURN(cfg.wake_on_data, section.Bool("wake_on_data", true));
  SG_ASSIGN_OR_RETURN(auto fetchers, section.Int("body_fetch_threads", -1, -1, 64));
  cfg.body_fetch_threads = static_cast<int>(fetchers);
  SG_ASSIGN_OR_RETURN(cfg.shutdown_timeout,
                      section.Duration("shutdown_timeout", std::chrono::seconds(10)));
  SG_ASSIGN_OR_RETURN(cfg.rebalance_drain_timeout,
                      section.Duration("rebalance_drain_timeout", cfg.rebalance_drain_timeout));
  if (cfg.rebalance_drain_timeout > std::chrono::minutes(1)) {
    return section.ErrorAt("rebalance_drain_timeout",
                           "at most 1m: the whole consumer group waits for it in a rebalance, and "
                           "Kafka drops a member that keeps it longer than max.poll.interval.ms; "
                           "fix: 20s (the default) or less, 0 to turn it off");
  }
  return cfg;
}

}  // namespace sg::egress
