// The portal's identity of an address: the shared normaliser
// (common/mail/address.h), so an address the ingress accepted, a login form
// and an admin command name the same account.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/mail/address.h"

namespace sg::portal {

// The normalised address; "" when it is not an address (it then matches no
// account, message or link; callers that need a reason refuse it).
inline std::string NormalizeRecipient(std::string_view address) {
  auto normalized = mail::NormalizeAddress(address);
  return normalized.ok() ? *normalized : std::string();
}

}  // namespace sg::portal
