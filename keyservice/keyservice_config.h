// The `keyservice:` section of smimegate.yaml (docs/configuration.md).
//
// Threading: plain values; parse once at start-up.
#pragma once

#include <chrono>
#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace sg::keyservice {

enum class KeyType { kRsa2048, kRsa3072, kRsa4096, kEcdsaP256, kEcdsaP384 };

// "rsa-2048" | "rsa-3072" | "rsa-4096" | "ecdsa-p256" | "ecdsa-p384"
std::string_view KeyTypeName(KeyType type);
Result<KeyType> ParseKeyType(const std::string& name);

struct CaConfig {
  std::string backend = "builtin";  // one of CaBackendNames() (ca_factory.h)
  std::string organization = "smimegate";  // subject O of the built-in CA
  KeyType key_type = KeyType::kEcdsaP384;  // of the built-in root and issuing CA
  std::chrono::hours validity{24 * 365};   // of issued certificates
  std::string crl_url;  // optional CRL distribution point put into issued certificates
};

struct KeyServiceConfig {
  std::string listen = "127.0.0.1:7443";  // gRPC API; loopback by default
  std::string endpoint;  // where clients connect; defaults to `listen`
  std::string store_path;  // default <data_dir>/keys
  std::string kek_file;  // 32 bytes: raw, 64 hex digits or base64; relative to data_dir
  std::string kek_env = "SMIMEGATE_KEK";  // used when kek_file is empty
  bool kek_create = false;  // create kek_file with a random key when missing (demo)
  KeyType key_type = KeyType::kRsa2048;  // of user keys
  std::chrono::milliseconds rollover_before{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds rollover_check_interval{std::chrono::hours(1)};
  bool system_roots = true;  // trust the system's root store for partner certificates
  std::string system_roots_file = "/etc/ssl/certs/ca-certificates.crt";
  CaConfig ca;
};

// Parses `section` (the `keyservice` map; may be empty: all defaults).
// Relative paths resolve against data_dir.
Result<KeyServiceConfig> ParseKeyServiceConfig(const config::ConfigNode& section,
                                               const std::string& data_dir);

}  // namespace sg::keyservice
