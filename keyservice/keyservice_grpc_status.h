// sg::Error <-> grpc::Status, one-to-one, so callers of the gRPC client see
// the same error codes as callers of the in-process implementation.
#pragma once

#include <grpcpp/support/status.h>

#include "common/result.h"

namespace sg::keyservice {

grpc::Status ToGrpc(const Error& error);
// A failed call; `what` names the RPC for transport errors.
Error FromGrpc(const grpc::Status& status, const std::string& endpoint);

}  // namespace sg::keyservice
