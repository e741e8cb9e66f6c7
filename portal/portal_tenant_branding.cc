#include "portal/portal_tenant_branding.h"

#include <spdlog/spdlog.h>

#include <regex>
#include <string_view>
#include <utility>

#include "common/ascii.h"

namespace sg::portal {
namespace {

constexpr std::string_view kPngMagic = "\x89PNG\r\n\x1a\n";

bool IsColor(const std::string& c) {
  static const std::regex kHex("#[0-9a-fA-F]{6}");
  return std::regex_match(c, kHex);
}

// PNG by its signature, SVG by its root element near the start; the
// keyservice refused active content already, and the portal serves the
// logo sandboxed (portal_web_settings.cc).
bool LogoMatchesType(const std::string& logo, const std::string& type) {
  if (type == "image/png") return logo.compare(0, kPngMagic.size(), kPngMagic) == 0;
  if (type == "image/svg+xml")
    return AsciiLower(logo.substr(0, 1024)).find("<svg") != std::string::npos;
  return false;
}

}  // namespace

bool SanitizeTenantBrand(TenantBrand& b) {
  bool dropped = false;
  if (!b.color.empty() && !IsColor(b.color)) {
    b.color.clear();
    dropped = true;
  }
  if (!b.logo.empty() &&
      (b.logo.size() > kMaxTenantLogoBytes || !LogoMatchesType(b.logo, b.logo_type))) {
    b.logo.clear();
    dropped = true;
  }
  if (b.logo.empty()) b.logo_type.clear();
  return dropped;
}

TenantBrandings::TenantBrandings(TenantBrandingFetch fetch, TenantBrandingOptions options,
                                 const Clock& clock, metrics::Registry& registry)
    : fetch_(std::move(fetch)),
      options_(options),
      clock_(clock),
      reads_(registry.AddCounter("smimegate_portal_tenant_branding_reads_total",
                                 "Reads of a tenant's branding from the keyservice by the portal",
                                 {"result"})) {
  if (options_.max_tenants == 0) options_.max_tenants = 1;
}

void TenantBrandings::ReplaceDomains(std::map<std::string, std::string> domain_tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  domains_ = std::move(domain_tenant);
  ++generation_;
}

size_t TenantBrandings::cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

std::shared_ptr<const TenantBrand> TenantBrandings::ForDomain(const std::string& domain) {
  const int64_t now = clock_.NowMs();
  std::string tenant;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto d = domains_.find(domain);
    if (d == domains_.end()) return nullptr;
    tenant = d->second;
    auto it = cache_.find(tenant);
    if (it != cache_.end()) {
      Entry& e = it->second;
      lru_.splice(lru_.begin(), lru_, e.lru);
      const bool fresh = now < e.fresh_until_ms && e.generation == generation_;
      if (fresh || now < e.retry_at_ms) return e.brand;
    }
  }
  auto read = fetch_(tenant);
  if (!read.ok() && read.error().code != ErrorCode::kNotFound) {
    reads_.WithLabels({"failed"}).Inc();
    spdlog::warn(
        "portal: the branding of tenant {} cannot be read, the last known one stays in "
        "use: {}",
        tenant, read.error().message);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(tenant);
    if (it != cache_.end()) {
      it->second.retry_at_ms = now + options_.retry.count();
      return it->second.brand;
    }
    Store(tenant, nullptr, /*ok=*/false, now);
    return nullptr;
  }
  std::shared_ptr<const TenantBrand> brand;
  if (read.ok()) {
    TenantBrand b = std::move(*read);
    if (SanitizeTenantBrand(b)) {
      reads_.WithLabels({"refused"}).Inc();
      spdlog::warn("portal: the branding of tenant {} has a bad colour or logo; it is not shown",
                   tenant);
    }
    reads_.WithLabels({"ok"}).Inc();
    b.tenant = tenant;
    if (!b.display_name.empty() || !b.sender_name.empty() || !b.sender_address.empty() ||
        !b.product_name.empty() || !b.color.empty() || !b.support.empty() || !b.logo.empty()) {
      brand = std::make_shared<const TenantBrand>(std::move(b));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Store(tenant, brand, /*ok=*/true, now);
  return brand;
}

void TenantBrandings::Store(const std::string& tenant, std::shared_ptr<const TenantBrand> brand,
                            bool ok, int64_t now) {
  auto it = cache_.find(tenant);
  if (it == cache_.end()) {
    while (cache_.size() >= options_.max_tenants && !lru_.empty()) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(tenant);
    it = cache_.emplace(tenant, Entry{}).first;
    it->second.lru = lru_.begin();
  }
  Entry& e = it->second;
  e.brand = std::move(brand);
  e.generation = generation_;
  e.fresh_until_ms = ok ? now + options_.ttl.count() : 0;
  e.retry_at_ms = ok ? 0 : now + options_.retry.count();
}

}  // namespace sg::portal
