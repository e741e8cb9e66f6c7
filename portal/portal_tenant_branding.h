// TenantBrandings: the branding of the tenant that owns a hosted domain
// (docs/tenants.md "Branding"), as the portal's notification mails and pages
// use it. The portal reads it from the keyservice registry through `fetch`
// (wired in the composition root: TenantShow, in process or over gRPC with
// the reader role; the portal includes no keyservice header) and keeps it
// per tenant:
//   - for `ttl` after a read, and until the next ReplaceDomains (the
//     follower calls it after every change event of the registry, so a
//     changed branding is read again at its next use);
//   - at most `max_tenants` entries (the least recently used one goes);
//   - when a read fails (keyservice unreachable), the last known branding
//     stays in use and the next read is tried after `retry`; a tenant never
//     read yet has none (the config file's portal.* applies).
// The domain -> tenant map comes from the follower's table (ReplaceDomains);
// a domain in no tenant has no tenant branding.
//
// Fields are checked again here, since pages and mails show them: a colour
// that is not #rrggbb, a logo over 64 KiB or of another type than PNG / SVG
// (by type and content) is dropped (metric result="refused").
//
// Metrics: smimegate_portal_tenant_branding_reads_total{result="ok|failed|refused"}.
//
// Threading: thread-safe; ForDomain calls `fetch` without holding the lock
// (two requests may read the same tenant at once; the later read wins).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"

namespace sg::portal {

inline constexpr size_t kMaxTenantLogoBytes = 64 * 1024;

// A tenant's branding (empty fields: the config's). Immutable once made.
struct TenantBrand {
  std::string tenant;
  std::string display_name;
  std::string sender_name;     // display name of notification mails' From
  std::string sender_address;  // their header From; "" = as without branding
  std::string product_name;
  std::string color;      // "#rrggbb"
  std::string support;    // support contact, free text
  std::string logo;       // PNG or SVG bytes
  std::string logo_type;  // image/png | image/svg+xml
};

struct TenantBrandingOptions {
  std::chrono::milliseconds ttl{std::chrono::seconds(60)};
  std::chrono::milliseconds retry{std::chrono::seconds(10)};  // after a failed read
  size_t max_tenants = 1000;
};

// The tenant's branding; an empty TenantBrand when it has none, kNotFound
// when the tenant does not exist; kUnavailable / kTimeout when the registry
// cannot be read.
using TenantBrandingFetch = std::function<Result<TenantBrand>(const std::string& tenant)>;

// Drops what the portal must not show: a colour that is not "#rrggbb", a
// logo over kMaxTenantLogoBytes or whose type and content are not PNG or
// SVG. Returns whether something was dropped.
bool SanitizeTenantBrand(TenantBrand& brand);

class TenantBrandings {
 public:
  TenantBrandings(TenantBrandingFetch fetch, TenantBrandingOptions options, const Clock& clock,
                  metrics::Registry& registry);

  // domain (lower case) -> tenant id; every cached branding is read again
  // at its next use (kept while that read fails).
  void ReplaceDomains(std::map<std::string, std::string> domain_tenant);

  // The branding of the tenant owning `domain` (lower case); nullptr when
  // the domain is in no known tenant, the tenant has no branding, or it was
  // never read.
  std::shared_ptr<const TenantBrand> ForDomain(const std::string& domain);

  size_t cached() const;

 private:
  struct Entry {
    std::shared_ptr<const TenantBrand> brand;  // nullptr: none (or never read)
    int64_t fresh_until_ms = 0;
    int64_t retry_at_ms = 0;  // after a failed read
    uint64_t generation = 0;  // of ReplaceDomains when read
    std::list<std::string>::iterator lru;
  };
  void Store(const std::string& tenant, std::shared_ptr<const TenantBrand> brand, bool ok,
             int64_t now);

  TenantBrandingFetch fetch_;
  TenantBrandingOptions options_;
  const Clock& clock_;
  metrics::Family<metrics::Counter>& reads_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> domains_;
  std::map<std::string, Entry> cache_;
  std::list<std::string> lru_;  // most recently used first
  uint64_t generation_ = 0;
};

}  // namespace sg::portal
