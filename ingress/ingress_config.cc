#include "ingress/ingress_config.h"

#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/ascii.h"
#include "common/host_name.h"
#include "ingress/ingress_steps.h"

namespace sg::ingress {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  std::filesystem::path p(path);
  if (p.is_absolute() || data_dir.empty()) return p.string();
  return (std::filesystem::path(data_dir) / p).string();
}

Result<std::string> ReadableFile(const config::ConfigNode& node, const std::string& key,
                                 const std::string& data_dir, bool required) {
  Result<std::string> value = node.String(key, required ? std::nullopt
                                                        : std::optional<std::string>(""));
  if (!value.ok()) return value.error();
  const std::string raw = value.value();
  if (raw.empty()) return std::string();
  std::string path = Resolve(raw, data_dir);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return node.ErrorAt(key, "file " + path + " not found");
  }
  if (access(path.c_str(), R_OK) != 0) {
    return node.ErrorAt(key, "file " + path + " is not readable by this user");
  }
  return path;
}

Result<ListenerConfig> ParseListener(const config::ConfigNode& n, const std::string& data_dir) {
  ListenerConfig l;
  l.config_path = n.path();
  SG_ASSIGN_OR_RETURN(l.name, n.String("name"));
  SG_ASSIGN_OR_RETURN(l.address, n.String("address", std::string("0.0.0.0")));
  SG_ASSIGN_OR_RETURN(std::string role, n.Enum("role", {"mx", "relay"}, std::string("mx")));
  l.role = role == "mx" ? Role::kMx : Role::kRelay;
  SG_ASSIGN_OR_RETURN(int64_t port, n.Int("port", l.role == Role::kMx ? 25 : 587, 0, 65535));
  l.port = static_cast<uint16_t>(port);
  SG_ASSIGN_OR_RETURN(auto nets, n.StringList("trusted_networks"));
  for (const std::string& text : nets) {
    auto cidr = Cidr::Parse(text);
    if (!cidr.ok()) return n.ErrorAt("trusted_networks", cidr.error().message);
    l.trusted_networks.push_back(*cidr);
  }
  if (n.Has("tls")) {
    SG_ASSIGN_OR_RETURN(auto tls, n.Map("tls"));
    ListenerTlsConfig t;
    SG_ASSIGN_OR_RETURN(t.cert_file, ReadableFile(tls, "cert", data_dir, true));
    SG_ASSIGN_OR_RETURN(t.key_file, ReadableFile(tls, "key", data_dir, true));
    SG_ASSIGN_OR_RETURN(t.client_ca_file, ReadableFile(tls, "client_ca", data_dir, false));
    l.tls = t;
  }
  if (n.Has("senders")) {
    SG_ASSIGN_OR_RETURN(auto entries, n.StringList("senders"));
    SG_ASSIGN_OR_RETURN(l.senders, ParseSenders(entries, n.PathOf("senders")));
    if (l.role != Role::kRelay) {
      return n.ErrorAt("senders", "only relay listeners bind senders");
    }
  }
  SG_ASSIGN_OR_RETURN(std::string proxy, n.Enum("proxy_protocol", {"none", "v2"}, std::string("none")));
  l.proxy_v2 = proxy == "v2";
  SG_ASSIGN_OR_RETURN(auto proxy_from, n.StringList("proxy_protocol_from"));
  for (const std::string& text : proxy_from) {
    auto cidr = Cidr::Parse(text);
    if (!cidr.ok()) return n.ErrorAt("proxy_protocol_from", cidr.error().message);
    l.proxy_from.push_back(*cidr);
  }
  if (l.proxy_v2 && l.proxy_from.empty()) {
    return n.ErrorAt("proxy_protocol_from", "required with proxy_protocol: v2 (the load "
                                            "balancers' networks; nobody else may claim an address)");
  }
  SG_ASSIGN_OR_RETURN(l.proxy_timeout, n.Duration("proxy_protocol_timeout", std::chrono::milliseconds(5000)));
  SG_ASSIGN_OR_RETURN(l.starttls, n.Bool("starttls", true));
  if (!l.starttls && l.tls) {
    return n.ErrorAt("starttls", "false, but a tls section is given: remove one of them");
  }
  SG_ASSIGN_OR_RETURN(l.require_tls, n.Bool("require_tls", false));
  SG_ASSIGN_OR_RETURN(l.auth, n.Bool("auth", false));
  if (l.require_tls && !l.tls) {
    return n.ErrorAt("require_tls", "needs a tls section with cert and key on this listener");
  }
  if (l.auth && !l.tls) {
    return n.ErrorAt("auth", "AUTH is only offered after STARTTLS: add a tls section with "
                             "cert and key to this listener");
  }
  return l;
}

Result<FailureLimit> ParseFailureLimit(const config::ConfigNode& n, FailureLimit def) {
  FailureLimit l = def;
  SG_ASSIGN_OR_RETURN(int64_t failures,
                      n.Int("failures", static_cast<int64_t>(def.max_failures), 1, 1000000));
  l.max_failures = static_cast<size_t>(failures);
  SG_ASSIGN_OR_RETURN(l.window, n.Duration("window", def.window));
  SG_ASSIGN_OR_RETURN(l.lockout, n.Duration("duration", def.lockout));
  if (l.window.count() <= 0) return n.ErrorAt("window", "must be greater than zero");
  if (l.lockout.count() <= 0) return n.ErrorAt("duration", "must be greater than zero");
  return l;
}

// recipient_verification.domains[].ldap (ingress_recipient_ldap.h).
Result<LdapConfig> ParseLdap(const config::ConfigNode& n, const std::string& data_dir) {
  LdapConfig l;
  SG_ASSIGN_OR_RETURN(l.url, n.String("url"));
  SG_ASSIGN_OR_RETURN(l.starttls, n.Bool("starttls", true));
  SG_ASSIGN_OR_RETURN(l.tls_ca_file, ReadableFile(n, "tls_ca_file", data_dir, false));
  SG_ASSIGN_OR_RETURN(l.bind_dn, n.String("bind_dn", ""));
  SG_ASSIGN_OR_RETURN(l.bind_password_file,
                      ReadableFile(n, "bind_password_file", data_dir, !l.bind_dn.empty()));
  SG_ASSIGN_OR_RETURN(l.base_dn, n.String("base_dn"));
  SG_ASSIGN_OR_RETURN(l.filter, n.String("filter", l.filter));
  SG_ASSIGN_OR_RETURN(l.timeout, n.Duration("timeout", l.timeout));
  SG_ASSIGN_OR_RETURN(int64_t idle, n.Int("max_idle", 4, 0, 256));
  l.max_idle = static_cast<size_t>(idle);
  SG_RETURN_IF_ERROR(ValidateLdapConfig(l, n.path()));
  return l;
}

Result<RecipientDomainConfig> ParseRecipientDomain(const config::ConfigNode& n,
                                                   const std::string& data_dir) {
  RecipientDomainConfig d;
  d.config_path = n.path();
  SG_ASSIGN_OR_RETURN(std::string domain, n.String("domain"));
  d.domain = AsciiLower(domain);
  SG_ASSIGN_OR_RETURN(d.sources, n.StringList("sources"));
  if (d.sources.empty()) {
    return n.ErrorAt("sources", "missing: list one or more of registry, list, callout, ldap");
  }
  std::set<std::string> seen;
  for (const std::string& s : d.sources) {
    if (s != "registry" && s != "list" && s != "callout" && s != "ldap") {
      return n.ErrorAt("sources",
                       "unknown source \"" + s + "\" (registry, list, callout, ldap)");
    }
    if (!seen.insert(s).second) return n.ErrorAt("sources", "\"" + s + "\" is listed twice");
  }
  if (seen.count("list") != 0) {
    SG_ASSIGN_OR_RETURN(d.list_file, ReadableFile(n, "list", data_dir, true));
  } else if (n.Has("list")) {
    return n.ErrorAt("list", "set, but \"list\" is not among the sources");
  }
  if (seen.count("callout") != 0) {
    SG_ASSIGN_OR_RETURN(auto c, n.Map("callout"));
    CalloutConfig callout;
    SG_ASSIGN_OR_RETURN(callout.host, c.String("host"));
    SG_ASSIGN_OR_RETURN(int64_t port, c.Int("port", 25, 1, 65535));
    callout.port = static_cast<uint16_t>(port);
    SG_ASSIGN_OR_RETURN(callout.timeout, c.Duration("timeout", callout.timeout));
    if (callout.timeout.count() <= 0) return c.ErrorAt("timeout", "must be greater than zero");
    d.callout = callout;
  } else if (n.Has("callout")) {
    return n.ErrorAt("callout", "set, but \"callout\" is not among the sources");
  }
  if (seen.count("ldap") != 0) {
    SG_ASSIGN_OR_RETURN(auto l, n.Map("ldap"));
    SG_ASSIGN_OR_RETURN(d.ldap, ParseLdap(l, data_dir));
  } else if (n.Has("ldap")) {
    return n.ErrorAt("ldap", "set, but \"ldap\" is not among the sources");
  }
  return d;
}

Result<RecipientVerificationConfig> ParseRecipientVerification(const config::ConfigNode& n,
                                                               const std::string& data_dir) {
  RecipientVerificationConfig v;
  SG_ASSIGN_OR_RETURN(int64_t threads, n.Int("threads", 8, 1, 256));
  v.threads = static_cast<size_t>(threads);
  SG_ASSIGN_OR_RETURN(auto cache, n.Map("cache"));
  SG_ASSIGN_OR_RETURN(v.cache.positive, cache.Duration("positive", v.cache.positive));
  SG_ASSIGN_OR_RETURN(v.cache.negative, cache.Duration("negative", v.cache.negative));
  SG_ASSIGN_OR_RETURN(int64_t entries, cache.Int("max_entries", 100000, 0, 100000000));
  v.cache.max_entries = static_cast<size_t>(entries);
  SG_ASSIGN_OR_RETURN(auto limit, n.Map("unknown_limit"));
  SG_ASSIGN_OR_RETURN(v.unknown_limit, ParseFailureLimit(limit, v.unknown_limit));
  SG_ASSIGN_OR_RETURN(auto domains, n.List("domains"));
  std::set<std::string> names;
  for (const auto& d : domains) {
    SG_ASSIGN_OR_RETURN(RecipientDomainConfig rd, ParseRecipientDomain(d, data_dir));
    if (!names.insert(rd.domain).second) {
      return d.ErrorAt("domain", "\"" + rd.domain + "\" has two entries");
    }
    v.domains.push_back(std::move(rd));
  }
  return v;
}

}  // namespace

Result<IngressConfig> ParseIngressConfig(const config::ConfigNode& s, const std::string& data_dir) {
  IngressConfig c;
  c.data_dir = data_dir;
  SG_ASSIGN_OR_RETURN(c.hostname, s.String("hostname", HostName()));
  SG_ASSIGN_OR_RETURN(int64_t threads, s.Int("threads", 0, 0, 256));
  c.threads = static_cast<int>(threads);
  SG_ASSIGN_OR_RETURN(c.max_message_size, s.Size("max_message_size", c.max_message_size));
  if (c.max_message_size < 1024) {
    return s.ErrorAt("max_message_size", "must be at least 1KiB");
  }
  SG_ASSIGN_OR_RETURN(c.max_bytes_in_flight,
                      s.Size("max_bytes_in_flight", c.max_bytes_in_flight));
  if (c.max_bytes_in_flight < c.max_message_size) {
    return s.ErrorAt("max_bytes_in_flight",
                     "must be at least max_message_size, or no message of the maximum size "
                     "could ever be accepted");
  }
  auto count = [&](const char* key, size_t def, int64_t min, int64_t max) -> Result<size_t> {
    SG_ASSIGN_OR_RETURN(int64_t v, s.Int(key, static_cast<int64_t>(def), min, max));
    return static_cast<size_t>(v);
  };
  SG_ASSIGN_OR_RETURN(c.max_recipients, count("max_recipients", 100, 1, 100000));
  SG_ASSIGN_OR_RETURN(c.max_connections, count("max_connections", 1000, 1, 1000000));
  SG_ASSIGN_OR_RETURN(c.max_connections_per_ip, count("max_connections_per_ip", 20, 1, 1000000));
  SG_ASSIGN_OR_RETURN(int64_t prefix, s.Int("ipv6_client_prefix", 64, 32, 128));
  c.ipv6_client_prefix = static_cast<int>(prefix);
  SG_ASSIGN_OR_RETURN(c.max_bad_commands, count("max_bad_commands", 10, 1, 1000));
  SG_ASSIGN_OR_RETURN(c.max_command_length, count("max_command_length", 2048, 512, 65536));
  SG_ASSIGN_OR_RETURN(c.max_line_length, count("max_line_length", 998, 78, 1000000));
  SG_ASSIGN_OR_RETURN(c.max_received_headers, count("max_received_headers", 50, 1, 1000));
  SG_ASSIGN_OR_RETURN(auto timeouts, s.Map("timeouts"));
  SG_ASSIGN_OR_RETURN(c.command_timeout, timeouts.Duration("command", c.command_timeout));
  SG_ASSIGN_OR_RETURN(c.data_timeout, timeouts.Duration("data_block", c.data_timeout));
  SG_ASSIGN_OR_RETURN(c.tls_handshake_timeout,
                      timeouts.Duration("tls_handshake", c.tls_handshake_timeout));
  SG_ASSIGN_OR_RETURN(c.queue_ack_timeout, timeouts.Duration("queue_ack", c.queue_ack_timeout));
  SG_ASSIGN_OR_RETURN(c.session_timeout, timeouts.Duration("session", c.session_timeout));
  SG_ASSIGN_OR_RETURN(c.close_timeout, timeouts.Duration("close", c.close_timeout));
  SG_ASSIGN_OR_RETURN(c.shutdown_grace, timeouts.Duration("shutdown_grace", c.shutdown_grace));
  for (const char* key : {"command", "data_block", "tls_handshake", "queue_ack", "session",
                          "close"}) {
    SG_ASSIGN_OR_RETURN(auto d, timeouts.Duration(key, std::chrono::milliseconds(1)));
    if (d.count() <= 0) return timeouts.ErrorAt(key, "must be greater than zero");
  }

  SG_ASSIGN_OR_RETURN(auto auth, s.Map("auth"));
  SG_ASSIGN_OR_RETURN(int64_t auth_threads, auth.Int("threads", 2, 1, 64));
  c.auth_threads = static_cast<size_t>(auth_threads);
  SG_ASSIGN_OR_RETURN(auto lockout, auth.Map("lockout"));
  SG_ASSIGN_OR_RETURN(int64_t per_user, lockout.Int("failures_per_user", 5, 1, 100000));
  SG_ASSIGN_OR_RETURN(int64_t per_client, lockout.Int("failures_per_client", 20, 1, 100000));
  SG_ASSIGN_OR_RETURN(auto window, lockout.Duration("window", std::chrono::minutes(15)));
  SG_ASSIGN_OR_RETURN(auto duration, lockout.Duration("duration", std::chrono::minutes(15)));
  if (window.count() <= 0) return lockout.ErrorAt("window", "must be greater than zero");
  if (duration.count() <= 0) return lockout.ErrorAt("duration", "must be greater than zero");
  c.auth_lockout_user = FailureLimit{static_cast<size_t>(per_user), window, duration};
  c.auth_lockout_client = FailureLimit{static_cast<size_t>(per_client), window, duration};
  SG_ASSIGN_OR_RETURN(auto users, auth.List("users"));
  for (const auto& u : users) {
    SG_ASSIGN_OR_RETURN(std::string name, u.String("name"));
    SG_ASSIGN_OR_RETURN(std::string hash, u.String("argon2"));
    if (hash.rfind("$argon2", 0) != 0) {
      return u.ErrorAt("argon2", "expected an argon2 hash in PHC format ($argon2id$v=19$...); "
                                 "make one with: echo -n 'password' | argon2 $(openssl rand "
                                 "-hex 8) -id -e");
    }
    if (!c.auth_users.emplace(name, hash).second) {
      return u.ErrorAt("name", "user \"" + name + "\" is listed twice");
    }
    SG_ASSIGN_OR_RETURN(auto senders, u.StringList("senders"));
    if (senders.empty()) {
      const size_t at = name.rfind('@');
      if (at == std::string::npos) {
        return u.ErrorAt("senders", "missing: list the domains or addresses user \"" + name +
                                        "\" may send as (only a user named by an address is "
                                        "bound to its own domain by default)");
      }
      senders.push_back(name.substr(at + 1));
    }
    SG_ASSIGN_OR_RETURN(AllowedSenders allowed, ParseSenders(senders, u.PathOf("senders")));
    c.sender_bindings.auth_users.emplace_back(name, std::move(allowed));
  }
  SG_ASSIGN_OR_RETURN(auto bindings, s.List("sender_bindings"));
  for (const auto& b : bindings) {
    SG_ASSIGN_OR_RETURN(auto entries, b.StringList("senders"));
    if (entries.empty()) return b.ErrorAt("senders", "missing: list domains or addresses");
    SG_ASSIGN_OR_RETURN(AllowedSenders allowed, ParseSenders(entries, b.PathOf("senders")));
    if (b.Has("certificate") == b.Has("network")) {
      return b.ErrorHere("give exactly one of certificate (a client certificate subject) or "
                         "network (a CIDR)");
    }
    if (b.Has("certificate")) {
      SG_ASSIGN_OR_RETURN(std::string subject, b.String("certificate"));
      c.sender_bindings.certificates.emplace_back(subject, std::move(allowed));
    } else {
      SG_ASSIGN_OR_RETURN(std::string text, b.String("network"));
      auto cidr = Cidr::Parse(text);
      if (!cidr.ok()) return b.ErrorAt("network", cidr.error().message);
      c.sender_bindings.networks.emplace_back(*cidr, std::move(allowed));
    }
  }

  SG_ASSIGN_OR_RETURN(auto rv, s.Map("recipient_verification"));
  SG_ASSIGN_OR_RETURN(c.recipient_verification, ParseRecipientVerification(rv, data_dir));

  std::set<std::string> names;
  if (!s.Has("listeners")) {
    ListenerConfig l;
    l.config_path = s.PathOf("listeners") + "[default]";
    l.name = "mx";
    c.listeners.push_back(l);
  } else {
    SG_ASSIGN_OR_RETURN(auto list, s.List("listeners"));
    for (const auto& n : list) {
      SG_ASSIGN_OR_RETURN(ListenerConfig l, ParseListener(n, data_dir));
      if (!names.insert(l.name).second) {
        return n.ErrorAt("name", "listener name \"" + l.name + "\" is used twice");
      }
      if (l.auth && c.auth_users.empty()) {
        return n.ErrorAt("auth", "no users in ingress.auth.users to authenticate against");
      }
      c.listeners.push_back(std::move(l));
    }
  }
  return c;
}

}  // namespace sg::ingress
