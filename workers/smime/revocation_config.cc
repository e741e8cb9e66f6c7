#include "workers/smime/revocation_config.h"

#include "common/ascii.h"

namespace sg::smime {

Result<RevocationConfig> ParseRevocationConfig(const config::ConfigNode& section) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  RevocationConfig c;
  SG_ASSIGN_OR_RETURN(c.enabled, section.Bool("enabled", c.enabled));
  SG_ASSIGN_OR_RETURN(c.timeout, section.Duration("timeout", c.timeout));
  SG_ASSIGN_OR_RETURN(c.budget, section.Duration("budget", c.budget));
  if (c.timeout < milliseconds(100) || c.timeout > seconds(60)) {
    return section.ErrorAt("timeout", "expected a duration from 100ms to 60s");
  }
  if (c.budget < c.timeout || c.budget > seconds(300)) {
    return section.ErrorAt("budget", "expected a duration from `timeout` to 5m");
  }
  SG_ASSIGN_OR_RETURN(c.max_ocsp_bytes, section.Size("max_ocsp_size", c.max_ocsp_bytes));
  SG_ASSIGN_OR_RETURN(c.max_crl_bytes, section.Size("max_crl_size", c.max_crl_bytes));
  SG_ASSIGN_OR_RETURN(int64_t entries, section.Int("cache_entries", 10000, 1, 10000000));
  SG_ASSIGN_OR_RETURN(int64_t crls, section.Int("crl_cache_entries", 64, 1, 100000));
  c.cache_entries = static_cast<size_t>(entries);
  c.crl_cache_entries = static_cast<size_t>(crls);
  SG_ASSIGN_OR_RETURN(milliseconds max_cache, section.Duration("max_cache_time", c.max_cache_time));
  SG_ASSIGN_OR_RETURN(milliseconds def_cache,
                      section.Duration("default_cache_time", c.default_cache_time));
  SG_ASSIGN_OR_RETURN(milliseconds retry, section.Duration("retry_after", c.retry_after));
  c.max_cache_time = duration_cast<seconds>(max_cache);
  c.default_cache_time = duration_cast<seconds>(def_cache);
  c.retry_after = duration_cast<seconds>(retry);
  SG_ASSIGN_OR_RETURN(std::vector<std::string> domains, section.StringList("hard_fail_domains"));
  for (const std::string& d : domains) c.hard_fail_domains.insert(AsciiLower(d));
  SG_ASSIGN_OR_RETURN(c.allow_private_addresses, section.Bool("allow_private_addresses", false));
  return c;
}

}  // namespace sg::smime
