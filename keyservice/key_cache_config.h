// The `workers.key_cache` section: the worker-side key cache
// (CachingKeyService, keyservice/key_cache.h). Parsed by the keyservice
// because the cache is the keyservice's client-side half; the workers
// section hands it over like its `policy` and `smime` subsections.
#pragma once

#include <chrono>
#include <string>

#include "common/config_node.h"

namespace sg::keyservice {

struct KeyCacheConfig {
  bool persist = true;  // false: memory only (a restarted worker starts cold)
  std::string path;     // default <data_dir>/worker-key-cache; one directory per worker process
  std::chrono::milliseconds ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds max_stale{std::chrono::hours(1)};  // 0: never serve stale
};

Result<KeyCacheConfig> ParseKeyCacheConfig(const config::ConfigNode& section,
                                           const std::string& data_dir);

}  // namespace sg::keyservice
