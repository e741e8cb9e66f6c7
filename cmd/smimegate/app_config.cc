#include "cmd/smimegate/app_config.h"

#include "keyservice/decrypt_guard_config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/config_node.h"
#include "common/mail/address.h"

namespace sg::app {

std::string DefaultConfigPath() {
  const char* home = std::getenv("SMIMEGATE_HOME");
  std::string dir = home && *home ? home : "./var";
  return dir + "/smimegate.yaml";
}

namespace {

Result<std::vector<std::string>> ParseDomains(const config::ConfigNode& root) {
  SG_ASSIGN_OR_RETURN(auto domains, root.StringList("hosted_domains"));
  for (auto& d : domains) {
    auto normalized = mail::NormalizeDomain(d);
    if (!normalized.ok() || normalized->find('.') == std::string::npos) {
      return root.ErrorAt("hosted_domains", "\"" + d + "\" is not a domain name");
    }
    d = std::move(*normalized);
  }
  return domains;
}

Result<StatusServerConfig> ParseMetrics(const config::ConfigNode& section) {
  StatusServerConfig c;
  SG_ASSIGN_OR_RETURN(c.address, section.String("address", "127.0.0.1"));
  SG_ASSIGN_OR_RETURN(int64_t port, section.Int("port", 9464, 0, 65535));
  c.port = static_cast<int>(port);
  return c;
}

Result<LogConfig> ParseLog(const config::ConfigNode& section) {
  LogConfig c;
  SG_ASSIGN_OR_RETURN(c.format, section.Enum("format", {"text", "json"}, "text"));
  SG_ASSIGN_OR_RETURN(c.level, section.Enum("level",
                                            {"trace", "debug", "info", "warn", "error",
                                             "critical", "off"},
                                            "info"));
  return c;
}

}  // namespace

Result<AppConfig> LoadAppConfig(const std::string& config_file) {
  SG_ASSIGN_OR_RETURN(auto doc, config::ConfigDocument::LoadFile(config_file));
  return ParseAppConfig(doc, config_file);
}

Result<AppConfig> ParseAppConfig(const config::ConfigDocument& doc,
                                 const std::string& config_file) {
  auto root = doc.Root();
  AppConfig c;
  c.config_file = config_file;
  std::error_code ec;
  std::string default_dir =
      std::filesystem::absolute(config_file, ec).parent_path().lexically_normal().string();
  SG_ASSIGN_OR_RETURN(c.data_dir, root.String("data_dir", default_dir));
  if (!c.data_dir.empty() && c.data_dir[0] != '/') {
    c.data_dir = (std::filesystem::path(default_dir) / c.data_dir).lexically_normal().string();
  }
  SG_ASSIGN_OR_RETURN(c.hosted_domains, ParseDomains(root));
  SG_ASSIGN_OR_RETURN(auto log, root.Map("log"));
  SG_ASSIGN_OR_RETURN(c.log, ParseLog(log));
  SG_ASSIGN_OR_RETURN(auto metrics, root.Map("metrics"));
  SG_ASSIGN_OR_RETURN(c.metrics, ParseMetrics(metrics));
  SG_ASSIGN_OR_RETURN(auto queue, root.Map("queue"));
  SG_ASSIGN_OR_RETURN(c.queue, queue::ParseQueueConfig(queue, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto workers, root.Map("workers"));
  SG_ASSIGN_OR_RETURN(c.workers, workers::ParseWorkerConfig(workers));
  SG_ASSIGN_OR_RETURN(auto policy, workers.Map("policy"));
  SG_ASSIGN_OR_RETURN(c.policy, workers::ParsePolicyConfig(policy, c.hosted_domains));
  c.policy.ca_wait = c.workers.ca_wait;
  c.policy.ca_retry = c.workers.ca_retry;
  SG_ASSIGN_OR_RETURN(auto smime_section, workers.Map("smime"));
  SG_ASSIGN_OR_RETURN(c.smime, smime::ParseSmimeConfig(smime_section, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto test_address, workers.Map("test_address"));
  SG_ASSIGN_OR_RETURN(c.test_address, workers::ParseTestAddressConfig(test_address));
  SG_ASSIGN_OR_RETURN(auto discovery, workers.Map("discovery"));
  SG_ASSIGN_OR_RETURN(c.discovery, workers::ParseDiscoveryConfig(discovery));
  SG_ASSIGN_OR_RETURN(auto key_cache, workers.Map("key_cache"));
  SG_ASSIGN_OR_RETURN(c.key_cache, keyservice::ParseKeyCacheConfig(key_cache, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto ingress, root.Map("ingress"));
  SG_ASSIGN_OR_RETURN(c.ingress, ingress::ParseIngressConfig(ingress, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto egress, root.Map("egress"));
  SG_ASSIGN_OR_RETURN(c.egress, egress::ParseEgressConfig(egress, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto keyservice, root.Map("keyservice"));
  SG_ASSIGN_OR_RETURN(c.keyservice, keyservice::ParseKeyServiceConfig(keyservice, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto guard, keyservice.Map("decrypt_guard"));
  SG_ASSIGN_OR_RETURN(c.decrypt_guard, keyservice::ParseDecryptGuardConfig(guard, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto admin_api, keyservice.Map("admin_api"));
  SG_ASSIGN_OR_RETURN(c.admin_api, admin::ParseAdminApiConfig(admin_api, c.data_dir));
  SG_ASSIGN_OR_RETURN(auto shutdown, root.Map("shutdown"));
  SG_ASSIGN_OR_RETURN(c.shutdown_deadline,
                      shutdown.Duration("deadline", std::chrono::milliseconds(20000)));
  if (c.shutdown_deadline < std::chrono::milliseconds(100) ||
      c.shutdown_deadline > std::chrono::hours(1)) {
    return shutdown.ErrorAt("deadline", "must be between 100ms and 1h");
  }
  SG_ASSIGN_OR_RETURN(auto portal, root.Map("portal"));
  SG_ASSIGN_OR_RETURN(c.portal, portal::ParsePortalConfig(portal, c.data_dir, c.hosted_domains));
  if (c.policy.web_encryption && !c.portal.enabled) {
    // Never pretend: forced mail without a certificate would have nowhere to go.
    return policy.ErrorAt("web_encryption",
                          "web encryption needs the portal: set portal.enabled: true (or set "
                          "this false: forced encryption without a certificate then bounces)");
  }
  SG_RETURN_IF_ERROR(doc.CheckNoUnknownKeys());
  return c;
}

}  // namespace sg::app
