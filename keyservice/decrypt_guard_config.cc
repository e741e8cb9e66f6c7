#include "keyservice/decrypt_guard_config.h"

#include <filesystem>

namespace sg::keyservice {

Result<DecryptGuardOptions> ParseDecryptGuardConfig(const config::ConfigNode& section,
                                                    const std::string& data_dir) {
  DecryptGuardOptions o;
  SG_ASSIGN_OR_RETURN(std::string path, section.String("path", "decrypt-guard"));
  if (path.empty()) return section.ErrorAt("path", "must not be empty");
  const std::filesystem::path p(path);
  o.path = p.is_absolute() || data_dir.empty() ? path : (std::filesystem::path(data_dir) / p).string();
  SG_ASSIGN_OR_RETURN(o.ttl, section.Duration("ttl", o.ttl));
  if (o.ttl < std::chrono::hours(1)) {
    return section.ErrorAt("ttl", "at least 1h (a shorter memory lets replayed content keys through)");
  }
  SG_ASSIGN_OR_RETURN(int64_t max_entries,
                      section.Int("max_entries", static_cast<int64_t>(o.max_entries), 1000,
                                  1000000000));
  o.max_entries = static_cast<size_t>(max_entries);
  SG_ASSIGN_OR_RETURN(int64_t per_domain,
                      section.Int("dsn_per_domain", o.dsn_per_domain, 0, 1000000));
  o.dsn_per_domain = static_cast<uint32_t>(per_domain);
  SG_ASSIGN_OR_RETURN(o.dsn_window, section.Duration("dsn_window", o.dsn_window));
  if (o.dsn_window.count() <= 0) return section.ErrorAt("dsn_window", "must be positive");
  return o;
}

}  // namespace sg::keyservice
