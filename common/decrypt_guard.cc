#include "common/decrypt_guard.h"

namespace sg::keyservice {

std::string_view ContentKeyVerdictName(ContentKeyVerdict v) {
  switch (v) {
    case ContentKeyVerdict::kFirst: return "first";
    case ContentKeyVerdict::kSame: return "same";
    case ContentKeyVerdict::kReplayed: return "replayed";
  }
  return "unknown";
}

std::string_view DsnPermissionName(DsnPermission p) {
  switch (p) {
    case DsnPermission::kAllowed: return "allowed";
    case DsnPermission::kAlreadySent: return "already_sent";
    case DsnPermission::kRateLimited: return "rate_limited";
  }
  return "unknown";
}

}  // namespace sg::keyservice
