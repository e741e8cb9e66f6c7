// The `ingress` section of the configuration (documented with defaults in
// docs/configuration.md).
//
// Threading: parsed once at start-up; immutable afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/result.h"
#include "common/tls_server.h"
#include "common/cidr.h"
#include "ingress/ingress_failure_limiter.h"
#include "ingress/ingress_recipient_callout.h"
#include "ingress/ingress_recipient_ldap.h"
#include "ingress/ingress_recipient_verifier.h"
#include "ingress/ingress_sender_binding.h"
#include "ingress/smtp_session_state.h"

namespace sg::ingress {

using ListenerTlsConfig = tls::ServerFiles;

struct ListenerConfig {
  std::string config_path;     // "ingress.listeners[0]", for error messages
  std::string name;
  std::string address = "0.0.0.0";
  uint16_t port = 25;          // 0: an ephemeral port (tests)
  Role role = Role::kMx;
  std::vector<Cidr> trusted_networks;
  std::optional<ListenerTlsConfig> tls;
  // Without `tls`: offer STARTTLS with the self-signed certificate under
  // data_dir (common/tls_selfsigned.h). false: no STARTTLS at all.
  bool starttls = true;
  bool require_tls = false;
  bool auth = false;
  // Relay: what trusted-network and certificate clients without a binding of
  // their own may send as; nullopt = every hosted domain.
  std::optional<AllowedSenders> senders;
  // proxy_protocol: v2 - every connection starts with a PROXY protocol v2
  // header (ingress_proxy_protocol.h) whose client address replaces the
  // socket's; only from proxy_protocol_from, within proxy_protocol_timeout.
  bool proxy_v2 = false;
  std::vector<Cidr> proxy_from;
  std::chrono::milliseconds proxy_timeout{5000};
};

// ingress.recipient_verification.domains[]: how one hosted domain's
// recipients are verified (ingress_recipient_verifier.h).
struct RecipientDomainConfig {
  std::string config_path;           // for error messages
  std::string domain;                // lower case, or "*" (every other hosted domain)
  std::vector<std::string> sources;  // "registry", "list", "callout", "ldap", in order
  std::string list_file;             // for "list"
  std::optional<CalloutConfig> callout;  // for "callout"
  std::optional<LdapConfig> ldap;        // for "ldap"
};

struct RecipientVerificationConfig {
  size_t threads = 8;                // the recipient pool (callouts wait on the network)
  RecipientCacheConfig cache;
  // Unknown recipients per client before every RCPT gets 450 4.7.1 for a while.
  FailureLimit unknown_limit{20, std::chrono::minutes(10), std::chrono::minutes(10)};
  std::vector<RecipientDomainConfig> domains;
};

struct IngressConfig {
  std::string hostname;        // default: the machine's host name
  std::string data_dir;        // where the self-signed STARTTLS certificate is kept
  int threads = 0;             // event loops; 0 = one per core
  uint64_t max_message_size = 50ull << 20;
  // Message bytes held at once (received or waiting for the queue's ack);
  // beyond it 452 4.3.1.
  uint64_t max_bytes_in_flight = 512ull << 20;
  size_t max_recipients = 100;
  size_t max_connections = 1000;
  size_t max_connections_per_ip = 20;  // per IPv4 address / IPv6 network (ipv6_client_prefix)
  int ipv6_client_prefix = 64;
  size_t max_bad_commands = 10;
  size_t max_command_length = 2048;
  size_t max_line_length = 998;
  size_t max_received_headers = 50;  // Received: fields; more is a mail loop (554 5.4.6)
  // RFC 5321 4.5.3.2 server timeouts.
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_timeout{std::chrono::minutes(3)};
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(30)};
  // A whole session, however busy; then 421 4.4.2.
  std::chrono::milliseconds session_timeout{std::chrono::minutes(30)};
  // After our last reply (QUIT, 421): how long the peer may take to read it
  // before the connection is dropped.
  std::chrono::milliseconds close_timeout{std::chrono::seconds(10)};
  // How long the queue may take to confirm a message before 451 4.3.0.
  std::chrono::milliseconds queue_ack_timeout{std::chrono::seconds(30)};
  // Stop(): how long in-flight sessions may take to finish.
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};
  std::map<std::string, std::string> auth_users;  // name -> argon2 PHC hash
  // auth.users[].senders and sender_bindings (relay listeners).
  SenderBindings sender_bindings;
  size_t auth_threads = 2;                         // the argon2 pool
  FailureLimit auth_lockout_user{5, std::chrono::minutes(15), std::chrono::minutes(15)};
  FailureLimit auth_lockout_client{20, std::chrono::minutes(15), std::chrono::minutes(15)};
  RecipientVerificationConfig recipient_verification;
  std::vector<ListenerConfig> listeners;
};

Result<IngressConfig> ParseIngressConfig(const config::ConfigNode& section,
                                         const std::string& data_dir);

}  // namespace sg::ingress
