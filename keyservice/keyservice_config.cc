#include "keyservice/keyservice_config.h"

#include <filesystem>

#include "keyservice/ca_factory.h"

namespace sg::keyservice {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute() || data_dir.empty()) return path;
  return (std::filesystem::path(data_dir) / p).string();
}

const std::vector<std::string>& KeyTypeNames() {
  static const std::vector<std::string> names = {"rsa-2048", "rsa-3072", "rsa-4096",
                                                 "ecdsa-p256", "ecdsa-p384"};
  return names;
}

// host:port with a numeric port; the host may be a bracketed IPv6 address.
bool LooksLikeHostPort(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return std::stoul(s.substr(colon + 1, 6)) <= 65535;
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  return KeyTypeNames()[static_cast<size_t>(type)];
}

Result<KeyType> ParseKeyType(const std::string& name) {
  const auto& names = KeyTypeNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<KeyType>(i);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown key type \"" + name +
                       "\" (expected rsa-2048, rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384)");
}

Result<KeyServiceConfig> ParseKeyServiceConfig(const config::ConfigNode& section,
                                               const std::string& data_dir) {
  KeyServiceConfig c;
  SG_ASSIGN_OR_RETURN(c.listen, section.String("listen", c.listen));
  if (!LooksLikeHostPort(c.listen)) {
    return section.ErrorAt("listen", "expected host:port, got \"" + c.listen + "\"");
  }
  SG_ASSIGN_OR_RETURN(c.endpoint, section.String("endpoint", ""));
  if (c.endpoint.empty()) {
    c.endpoint = c.listen;
    // A wildcard listener is reached over the loopback on this machine.
    if (c.endpoint.rfind("0.0.0.0:", 0) == 0) c.endpoint = "127.0.0.1" + c.endpoint.substr(7);
    if (c.endpoint.rfind("[::]:", 0) == 0) c.endpoint = "[::1]" + c.endpoint.substr(4);
  }
  SG_ASSIGN_OR_RETURN(std::string store, section.String("store_path", "keys"));
  c.store_path = Resolve(store, data_dir);

  SG_ASSIGN_OR_RETURN(std::string kek_file, section.String("kek_file", ""));
  c.kek_file = Resolve(kek_file, data_dir);
  SG_ASSIGN_OR_RETURN(c.kek_env, section.String("kek_env", c.kek_env));
  SG_ASSIGN_OR_RETURN(c.kek_create, section.Bool("kek_create", false));
  if (c.kek_create && c.kek_file.empty()) {
    return section.ErrorAt("kek_create", "needs kek_file (where to create the key)");
  }

  SG_ASSIGN_OR_RETURN(std::string key_type,
                      section.Enum("key_type", KeyTypeNames(), std::string("rsa-2048")));
  SG_ASSIGN_OR_RETURN(c.key_type, ParseKeyType(key_type));

  SG_ASSIGN_OR_RETURN(c.rollover_before, section.Duration("rollover_before", c.rollover_before));
  SG_ASSIGN_OR_RETURN(c.rollover_check_interval,
                      section.Duration("rollover_check_interval", c.rollover_check_interval));
  if (c.rollover_check_interval < std::chrono::seconds(1)) {
    return section.ErrorAt("rollover_check_interval", "must be at least 1s");
  }
  SG_ASSIGN_OR_RETURN(c.system_roots, section.Bool("system_roots", true));
  SG_ASSIGN_OR_RETURN(c.system_roots_file,
                      section.String("system_roots_file", c.system_roots_file));

  SG_ASSIGN_OR_RETURN(config::ConfigNode ca, section.Map("ca"));
  SG_ASSIGN_OR_RETURN(c.ca.backend, ca.Enum("backend", CaBackendNames(), std::string("builtin")));
  SG_ASSIGN_OR_RETURN(c.ca.organization, ca.String("organization", c.ca.organization));
  SG_ASSIGN_OR_RETURN(std::string ca_key,
                      ca.Enum("key_type", KeyTypeNames(), std::string("ecdsa-p384")));
  SG_ASSIGN_OR_RETURN(c.ca.key_type, ParseKeyType(ca_key));
  SG_ASSIGN_OR_RETURN(auto validity,
                      ca.Duration("validity", std::chrono::milliseconds(c.ca.validity)));
  // The S/MIME BRs allow at most 825 days.
  if (validity < std::chrono::hours(24) || validity > std::chrono::hours(24 * 825)) {
    return ca.ErrorAt("validity", "must be between 1d and 825d (S/MIME Baseline Requirements)");
  }
  c.ca.validity = std::chrono::duration_cast<std::chrono::hours>(validity);
  SG_ASSIGN_OR_RETURN(c.ca.crl_url, ca.String("crl_url", ""));
  if (c.rollover_before >= validity) {
    return section.ErrorAt("rollover_before", "must be shorter than ca.validity");
  }
  return c;
}

}  // namespace sg::keyservice
