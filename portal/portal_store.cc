#include "portal/portal_store.h"

#include "portal/portal_store_keys.h"

namespace sg::portal {

std::string ScanCursor(const pb::StoredMessage& message) {
  return keys::Owned(message.recipient(), message.id());
}

Result<PutOutcome> PortalStore::PutMessage(const pb::StoredMessage& message,
                                           const std::string& sealed_content) {
  std::vector<NewMessage> batch(1);
  batch[0].message = message;
  batch[0].sealed_content = sealed_content;
  SG_ASSIGN_OR_RETURN(auto out, PutMessages(batch));
  return std::move(out.at(0));
}

}  // namespace sg::portal
