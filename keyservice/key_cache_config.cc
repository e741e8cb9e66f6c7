#include "keyservice/key_cache_config.h"

#include <filesystem>

namespace sg::keyservice {

Result<KeyCacheConfig> ParseKeyCacheConfig(const config::ConfigNode& section,
                                           const std::string& data_dir) {
  KeyCacheConfig c;
  SG_ASSIGN_OR_RETURN(c.persist, section.Bool("persist", true));
  SG_ASSIGN_OR_RETURN(c.path, section.String("path", "worker-key-cache"));
  if (c.path.empty()) return section.ErrorAt("path", "must not be empty (use persist: false)");
  std::filesystem::path p(c.path);
  if (!p.is_absolute() && !data_dir.empty()) c.path = (std::filesystem::path(data_dir) / p).string();
  auto same = [](const std::string& a, const std::string& b) {
    return (std::filesystem::path(a) / "").lexically_normal() ==
           (std::filesystem::path(b) / "").lexically_normal();
  };
  if (!data_dir.empty() && same(c.path, data_dir)) {
    return section.ErrorAt("path", "must be a directory of its own, not data_dir");
  }
  SG_ASSIGN_OR_RETURN(c.ttl, section.Duration("ttl", c.ttl));
  if (c.ttl < std::chrono::seconds(1)) return section.ErrorAt("ttl", "must be at least 1s");
  SG_ASSIGN_OR_RETURN(c.max_stale, section.Duration("max_stale", c.max_stale));
  return c;
}

}  // namespace sg::keyservice
