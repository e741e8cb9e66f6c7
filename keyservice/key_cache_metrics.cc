#include "keyservice/key_cache_metrics.h"

namespace sg::keyservice {

KeyCacheMetrics::KeyCacheMetrics(metrics::Registry& registry)
    : hits_memory(registry.AddCounter("smimegate_worker_key_cache_hits_total",
                                      "Key cache lookups answered from the cache, by tier",
                                      {"tier"}).WithLabels({"memory"})),
      hits_disk(registry.AddCounter("smimegate_worker_key_cache_hits_total",
                                    "Key cache lookups answered from the cache, by tier",
                                    {"tier"}).WithLabels({"disk"})),
      misses(registry.AddCounter("smimegate_worker_key_cache_misses_total",
                                 "Key cache lookups that asked the keyservice").Get()),
      stale_served(registry.AddCounter("smimegate_worker_key_cache_stale_served_total",
                                       "Expired public entries served while the keyservice "
                                       "was unavailable").Get()),
      resets(registry.AddCounter("smimegate_worker_key_cache_resets_total",
                                 "Whole-cache drops on a keyservice reset").Get()),
      entries_memory(registry.AddGauge("smimegate_worker_key_cache_entries",
                                       "Entries in the key cache, by tier",
                                       {"tier"}).WithLabels({"memory"})),
      entries_disk(registry.AddGauge("smimegate_worker_key_cache_entries",
                                     "Entries in the key cache, by tier",
                                     {"tier"}).WithLabels({"disk"})) {}

}  // namespace sg::keyservice
