// The ingress's view of the keyservice's user registry (for recipient
// verification's "registry" source, ingress/ingress_recipient_verifier.h),
// over whatever KeyService this process has: the in-process one behind the
// key cache in `smimegate run`, or a gRPC client in `smimegate ingress`.
// Lives here, in the composition root, so the ingress never includes
// keyservice headers.
//
// Threading: as the KeyService (thread-safe, blocking); called on the
// ingress's recipient pool.
#pragma once

#include "ingress/ingress_recipient_verifier.h"
#include "keyservice/key_service.h"

namespace sg::app {

class IngressUserRegistry : public ingress::UserRegistry {
 public:
  explicit IngressUserRegistry(keyservice::KeyService& keys) : keys_(keys) {}
  Result<bool> Participates(const std::string& address) override {
    return keys_.Participates(address);
  }

 private:
  keyservice::KeyService& keys_;
};

}  // namespace sg::app
