// What an SMTP session knows about itself: the listener settings, the client,
// TLS and AUTH state. Shared by the session (smtp_session.h) and the steps
// that decide on it (ingress_steps.h).
//
// Threading: owned by one session, used on its loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sg::ingress {

enum class Role { kMx, kRelay };

// Per-listener session settings, built once from config.
struct SessionConfig {
  std::string listener = "mx";          // config name, used in logs and metrics
  Role role = Role::kMx;
  std::string hostname = "localhost";   // in the greeting, EHLO and Received
  std::string topic = "inbound";        // full queue topic for this listener's mail
  bool tls_available = false;           // STARTTLS offered
  bool require_tls = false;             // MAIL/AUTH only after STARTTLS
  bool auth_enabled = false;            // AUTH offered (only ever after TLS)
  uint64_t max_message_size = 50ull << 20;
  size_t max_recipients = 100;
  size_t max_bad_commands = 10;
  size_t max_command_length = 2048;     // octets, without CRLF
  size_t max_line_length = 998;         // DATA line octets, without CRLF
  size_t max_received_headers = 50;     // more Received: fields: 554 5.4.6 (a loop)
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_timeout{std::chrono::minutes(3)};
  int ipv6_client_prefix = 64;          // per-client limits count IPv6 clients per /64
};

struct TlsState {
  bool active = false;
  std::string version;        // "TLSv1.3"
  std::string cipher;
  std::string peer_subject;   // verified client certificate subject
  bool peer_verified = false;
};

struct SessionState {
  const SessionConfig* config = nullptr;
  std::string client_ip;
  std::string client_key;     // what per-client limits count (ClientKey: IPv6 per /64)
  uint16_t client_port = 0;
  bool trusted = false;       // client_ip is in the listener's trusted_networks
  TlsState tls;
  std::string auth_identity;  // empty until AUTH succeeds
  std::string helo;
  bool esmtp = false;
  bool limit_acquired = false;  // connection slot taken (ConnectionLimitStep)

  // Relay policy: who may send outbound mail through this listener.
  bool Authorized() const { return trusted || !auth_identity.empty() || tls.peer_verified; }
};

}  // namespace sg::ingress
