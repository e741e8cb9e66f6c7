#include "keyservice/directory_run_guard.h"

#include "common/mail/date.h"

namespace sg::keyservice {

DirectoryRunGuard::Lease::~Lease() {
  if (guard_ != nullptr) guard_->Release(source_);
}

Result<DirectoryRunGuard::Lease> DirectoryRunGuard::Acquire(const std::string& source,
                                                            int64_t now_ms,
                                                            const std::string& who) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = running_.emplace(source, Running{now_ms, who});
  if (!fresh) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "directory source " + source + ": a run is in progress since " +
                         mail::Rfc5322Date(it->second.since_ms) + " (" + it->second.who +
                         "); try again when it has finished (smimegatectl directory status)");
  }
  return Lease(this, source);
}

void DirectoryRunGuard::Release(const std::string& source) {
  std::lock_guard lock(mu_);
  running_.erase(source);
}

}  // namespace sg::keyservice
