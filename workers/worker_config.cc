#include "workers/worker_config.h"

namespace sg::workers {

Result<WorkerConfig> ParseWorkerConfig(const config::ConfigNode& section) {
  WorkerConfig c;
  SG_ASSIGN_OR_RETURN(int64_t threads, section.Int("threads", 0, 0, 1024));
  c.threads = static_cast<int>(threads);
  SG_ASSIGN_OR_RETURN(int64_t batch, section.Int("max_batch", 64, 1, 10000));
  c.max_batch = static_cast<int>(batch);
  SG_ASSIGN_OR_RETURN(int64_t attempts, section.Int("max_attempts", 5, 1, 100));
  c.max_attempts = static_cast<int>(attempts);
  SG_ASSIGN_OR_RETURN(c.group, section.String("group", c.group));
  SG_ASSIGN_OR_RETURN(c.ack_timeout, section.Duration("ack_timeout", c.ack_timeout));
  if (c.ack_timeout.count() <= 0) return section.ErrorAt("ack_timeout", "must be positive");
  SG_ASSIGN_OR_RETURN(c.ca_wait, section.Duration("ca_wait", c.ca_wait));
  if (c.ca_wait.count() < 0) return section.ErrorAt("ca_wait", "must not be negative");
  SG_ASSIGN_OR_RETURN(c.ca_retry, section.Duration("ca_retry", c.ca_retry));
  if (c.ca_retry < std::chrono::seconds(1)) return section.ErrorAt("ca_retry", "must be at least 1s");
  SG_ASSIGN_OR_RETURN(c.share_bodies, section.Bool("share_bodies", c.share_bodies));
  if (section.Has("share_bodies_min_bytes")) {
    SG_ASSIGN_OR_RETURN(c.share_bodies_min_bytes, section.Size("share_bodies_min_bytes"));
  }
  return c;
}

}  // namespace sg::workers
