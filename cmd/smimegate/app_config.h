// The whole configuration of a smimegate process: the common sections plus
// every stage's own section, each parsed by its stage (<stage>_config.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "admin/admin_config.h"
#include "common/config_node.h"
#include "common/logging.h"
#include "common/queue_config.h"
#include "common/status_server.h"
#include "egress/egress_config.h"
#include "ingress/ingress_config.h"
#include "keyservice/decrypt_guard_store.h"
#include "keyservice/key_cache_config.h"
#include "keyservice/keyservice_config.h"
#include "portal/portal_config.h"
#include "workers/discovery/discovery_config.h"
#include "workers/policy/policy_config.h"
#include "workers/policy/policy_test_address_config.h"
#include "workers/smime/smime_config.h"
#include "workers/worker_config.h"

namespace sg::app {

struct AppConfig {
  std::string config_file;
  std::string data_dir;                     // default: the config file's directory
  std::vector<std::string> hosted_domains;  // lower-case
  LogConfig log;
  StatusServerConfig metrics;
  queue::QueueConfig queue;
  workers::WorkerConfig workers;
  workers::PolicyConfig policy;   // workers.policy
  smime::SmimeConfig smime;       // workers.smime
  keyservice::KeyCacheConfig key_cache;  // workers.key_cache (worker processes only)
  workers::TestAddressConfig test_address;  // workers.test_address (docs/setup/README.md)
  workers::DiscoveryConfig discovery;       // workers.discovery (docs/discovery.md)
  ingress::IngressConfig ingress;
  egress::EgressConfig egress;
  keyservice::KeyServiceConfig keyservice;
  keyservice::DecryptGuardOptions decrypt_guard;  // keyservice.decrypt_guard
  admin::AdminApiConfig admin_api;                // keyservice.admin_api (docs/admin-api.md)
  portal::PortalConfig portal;    // the web-encryption portal (docs/portal.md)
  // shutdown.deadline: from the first SIGTERM/SIGINT to the exit, whatever
  // the dependencies do; stage drain times are capped to fit in it.
  std::chrono::milliseconds shutdown_deadline{20000};
};

// Reads, validates and resolves the configuration. Every error names the key
// and its line; the caller exits with code 2.
Result<AppConfig> LoadAppConfig(const std::string& config_file);

// The same for a document already read (relative paths resolve against
// config_file's directory). The config fuzz target drives this.
Result<AppConfig> ParseAppConfig(const config::ConfigDocument& doc, const std::string& config_file);

// Where the config lives: --config, else $SMIMEGATE_HOME/smimegate.yaml,
// else ./var/smimegate.yaml.
std::string DefaultConfigPath();

}  // namespace sg::app
