#include "portal/portal_store.h"

#include "portal/portal_store_keys.h"

namespace sg::portal {

std::string ScanCursor(const pb::StoredMessage& message) {
  return keys::Owned(message.recipient(), message.id());
}

}  // namespace sg::portal
