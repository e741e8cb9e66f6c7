#include "common/admin_listener_config.h"

#include <charconv>

namespace sg {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty() || path.front() == '/' || data_dir.empty()) return path;
  return data_dir + (data_dir.back() == '/' ? "" : "/") + path;
}

bool IsHostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  unsigned port = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data() + colon + 1, end, port);
  return ec == std::errc() && ptr == end && port >= 1 && port <= 65535;
}

}  // namespace

Result<AdminListenerConfig> ParseAdminListener(const config::ConfigNode& admin,
                                               const std::string& role,
                                               const std::string& data_dir) {
  AdminListenerConfig c;
  SG_ASSIGN_OR_RETURN(c.listen, admin.String("listen", ""));
  SG_ASSIGN_OR_RETURN(auto tls, admin.Map("tls"));
  const std::string dir = "credentials/" + role + "/";
  SG_ASSIGN_OR_RETURN(auto cert, tls.String("cert_file", dir + "cert.pem"));
  SG_ASSIGN_OR_RETURN(auto key, tls.String("key_file", dir + "key.pem"));
  SG_ASSIGN_OR_RETURN(auto ca, tls.String("client_ca_file", dir + "ca.pem"));
  c.cert_file = Resolve(cert, data_dir);
  c.key_file = Resolve(key, data_dir);
  c.client_ca_file = Resolve(ca, data_dir);
  if (!c.listen.empty() && !IsHostPort(c.listen)) {
    return admin.ErrorAt("listen", "'" + c.listen + "' is not host:port (e.g. 0.0.0.0:7444)");
  }
  return c;
}

}  // namespace sg
