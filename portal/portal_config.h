// The `portal` section of the configuration: the web-encryption portal
// (docs/configuration.md "portal", docs/portal.md).
//
// Threading: plain values, parsed once at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/admin_listener_config.h"
#include "common/cidr.h"
#include "common/config_node.h"
#include "common/tls_server.h"
#include "portal/portal_kek.h"
#include "portal/portal_tenant_branding.h"

namespace sg::portal {

// What a hosted domain's senders' web-encrypted mail looks like and how
// long it is kept.
struct DomainSettings {
  std::string domain;                   // lower-case; empty: the defaults
  std::chrono::milliseconds retention{std::chrono::hours(24 * 90)};
  std::string language = "en";          // notification mail and first pages: en | de
  // "none": the link alone registers; "code": the recipient also needs a
  // one-time code that the sender receives and passes on out of band.
  std::string second_factor = "none";
  bool replies = true;
  // Whether notification mails name the message's subject. Off: the
  // notification travels in clear over the internet, the subject may be
  // as confidential as the body (review L7).
  bool subject_in_notification = false;
  // Branding (the white-label product).
  std::string product_name = "smimegate Secure Mail";
  std::string logo_file;                // PNG or SVG; empty: none
  std::string primary_color = "#1f5fa8";
  std::string background_color = "#f4f6f8";
  std::string text_color = "#1d2329";
  std::string templates_dir;            // overrides of the built-in templates; empty: none
};

struct PortalConfig {
  bool enabled = false;
  std::string address = "127.0.0.1";
  int port = 8443;                      // 0 picks a free port (tests)
  std::string hostname;                 // the certificate's name; default the host name
  std::string public_url;               // what links point at; default https://<hostname>:<port>
  bool public_url_derived = false;      // not configured: follows the bound port (tests: port 0)
  std::optional<tls::ServerFiles> tls;  // none: self-signed under <data_dir>/portal/tls
  std::string tls_dir;                  // <data_dir>/portal/tls
  std::string store_path;               // <data_dir>/portal/store
  std::string admin_socket;             // <data_dir>/run/portal.sock
  // portal.admin: PortalAdmin also on TCP, mutual TLS, admin role only
  // (`smimegate portal` in the distributed mode; the keyservice's REST API
  // reaches it there). Off while admin.listen is empty.
  AdminListenerConfig admin;
  KekSource kek;
  // HTTPS connections (docs/portal.md "Connections"): each open connection
  // holds a worker from the TLS handshake until it closes.
  int threads = 64;
  // Open connections per client (IPv4 address or IPv6 /64), enforced only
  // while more than half the workers are busy; 0: no limit.
  size_t connections_per_ip = 16;
  // Reverse proxies whose X-Forwarded-For is believed (docs/portal.md
  // "Behind a reverse proxy"): only for a TCP peer in one of these, the
  // client is the header's right-most entry. Empty: the header is ignored.
  std::vector<Cidr> trusted_proxies;
  std::chrono::milliseconds read_timeout{std::chrono::seconds(5)};  // handshake, headers, body
  // Argon2id runs at once (64 MiB each); 0: 2 x hardware threads (review R3).
  size_t argon2_concurrency = 0;
  std::string consumer_group = "portal";
  // Records of the portal topic handed to the intake at once: stored in one
  // synced write, notified in one queue hand-over (1: one at a time).
  int intake_batch = 16;
  std::chrono::milliseconds link_ttl{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds reset_link_ttl{std::chrono::hours(2)};
  std::chrono::milliseconds session_idle{std::chrono::minutes(30)};
  std::chrono::milliseconds session_absolute{std::chrono::hours(12)};
  size_t max_login_failures = 20;       // per address, then locked
  std::chrono::milliseconds lockout{std::chrono::hours(1)};
  size_t max_ip_failures = 100;         // per client address and window
  std::chrono::milliseconds ip_window{std::chrono::minutes(15)};
  size_t min_password_length = 10;
  uint64_t max_reply_bytes = 10ull << 20;
  size_t max_replies_per_hour = 20;     // per account (a token bucket)
  std::chrono::milliseconds audit_retention{std::chrono::hours(24 * 180)};
  std::string notification_from;        // envelope sender of notifications; default the sender
  std::vector<DomainSettings> domains;
  DomainSettings defaults;
  // How long the portal keeps a tenant's branding read from the keyservice
  // (portal.tenant_branding.*, portal_tenant_branding.h).
  TenantBrandingOptions tenant_branding;

  // The settings of `domain` (the defaults when it has none of its own).
  const DomainSettings& For(const std::string& domain) const;
};

Result<PortalConfig> ParsePortalConfig(const config::ConfigNode& section,
                                       const std::string& data_dir,
                                       const std::vector<std::string>& hosted_domains);

}  // namespace sg::portal
