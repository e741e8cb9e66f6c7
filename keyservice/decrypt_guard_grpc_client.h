// DecryptGuardClient: the DecryptFailureGuard of a keyservice in another
// process, over gRPC (service smimegate.keyservice.v1.DecryptGuard). For
// workers run as `smimegate worker`; it shares the KeyServiceClient's
// channel (and so its credentials). Transport failures are kUnavailable /
// kTimeout naming the endpoint, like every keyservice call.
//
// Threading: thread-safe (one channel, shared by all calls).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/decrypt_guard.h"

namespace grpc {
class Channel;
}

namespace sg::keyservice {

class DecryptGuardClient : public DecryptFailureGuard {
 public:
  DecryptGuardClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~DecryptGuardClient() override;

  Result<ContentKeyVerdict> ObserveContentKey(const ContentKeySighting& sighting) override;
  Result<DsnPermission> PermitFailureDsn(const FailureDsnRequest& request) override;

 private:
  struct Stub;
  std::unique_ptr<Stub> stub_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sg::keyservice
