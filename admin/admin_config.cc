#include "admin/admin_config.h"

#include <unistd.h>

#include <array>
#include <filesystem>

#include "common/host_name.h"

namespace sg::admin {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty() || path.front() == '/' || data_dir.empty()) return path;
  return (std::filesystem::path(data_dir) / path).string();
}

// rate_limit_unauthenticated_per_second / _burst / _max_clients.
Status ParseUnauthenticatedLimit(const config::ConfigNode& s, ClientLimit& l) {
  SG_ASSIGN_OR_RETURN(int64_t rate, s.Int("rate_limit_unauthenticated_per_second",
                                          static_cast<int64_t>(l.rate.per_second), 0, 100000));
  l.rate.per_second = static_cast<double>(rate);
  SG_ASSIGN_OR_RETURN(int64_t burst,
                      s.Int("rate_limit_unauthenticated_burst", l.rate.burst, 1, 1000000));
  l.rate.burst = static_cast<uint32_t>(burst);
  SG_ASSIGN_OR_RETURN(int64_t clients, s.Int("rate_limit_unauthenticated_max_clients",
                                             static_cast<int64_t>(l.max_clients), 1, 10000000));
  l.max_clients = static_cast<size_t>(clients);
  return OkStatus();
}

}  // namespace

Result<AdminApiConfig> ParseAdminApiConfig(const config::ConfigNode& s, const std::string& data_dir) {
  AdminApiConfig c;
  SG_ASSIGN_OR_RETURN(c.enabled, s.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(c.address, s.String("address", c.address));
  SG_ASSIGN_OR_RETURN(int64_t port, s.Int("port", c.port, 0, 65535));
  c.port = static_cast<int>(port);
  SG_ASSIGN_OR_RETURN(c.hostname, s.String("hostname", HostName()));
  if (s.Has("tls")) {
    SG_ASSIGN_OR_RETURN(auto t, s.Map("tls"));
    tls::ServerFiles files;
    SG_ASSIGN_OR_RETURN(std::string cert, t.String("cert", std::string()));
    SG_ASSIGN_OR_RETURN(std::string key, t.String("key", std::string()));
    if (cert.empty() || key.empty()) {
      return s.ErrorAt("tls", "needs both cert and key (or remove it for a self-signed certificate)");
    }
    files.cert_file = Resolve(cert, data_dir);
    files.key_file = Resolve(key, data_dir);
    c.tls = files;
  }
  c.tls_dir = Resolve("admin/tls", data_dir);
  SG_ASSIGN_OR_RETURN(c.max_body_bytes, s.Size("max_body_bytes", c.max_body_bytes));
  if (c.max_body_bytes < 1024 || c.max_body_bytes > (uint64_t{64} << 20)) {
    return s.ErrorAt("max_body_bytes", "must be between 1KiB and 64MiB");
  }
  SG_ASSIGN_OR_RETURN(c.request_timeout, s.Duration("request_timeout", c.request_timeout));
  if (c.request_timeout < std::chrono::seconds(1) || c.request_timeout > std::chrono::minutes(10)) {
    return s.ErrorAt("request_timeout", "must be between 1s and 10m");
  }
  SG_ASSIGN_OR_RETURN(int64_t conns, s.Int("max_connections", c.max_connections, 1, 1024));
  c.max_connections = static_cast<uint32_t>(conns);
  SG_ASSIGN_OR_RETURN(
      int64_t rate,
      s.Int("rate_limit_per_token", static_cast<int64_t>(c.rate_limit.per_second), 0, 100000));
  c.rate_limit.per_second = static_cast<double>(rate);
  SG_ASSIGN_OR_RETURN(int64_t burst, s.Int("rate_limit_burst", c.rate_limit.burst, 1, 1000000));
  c.rate_limit.burst = static_cast<uint32_t>(burst);
  SG_RETURN_IF_ERROR(ParseUnauthenticatedLimit(s, c.unauthenticated_limit));
  SG_ASSIGN_OR_RETURN(auto portal, s.Map("portal"));
  SG_ASSIGN_OR_RETURN(c.portal.endpoint, portal.String("endpoint", ""));
  SG_ASSIGN_OR_RETURN(std::string creds, portal.String("credentials", "credentials/admin"));
  c.portal.credentials = Resolve(creds, data_dir);
  SG_ASSIGN_OR_RETURN(c.portal.server_name, portal.String("server_name", c.portal.server_name));
  if (!c.portal.endpoint.empty() && c.portal.endpoint.find(':') == std::string::npos) {
    return portal.ErrorAt("endpoint", "'" + c.portal.endpoint +
                                          "' is not host:port (the portal's portal.admin.listen)");
  }
  return c;
}

}  // namespace sg::admin
