// sg::Error <-> grpc::Status, one-to-one, so callers of the gRPC client see
// the same error codes as callers of the in-process implementation; and
// UnaryCall, the one way our gRPC clients (keyservice, decrypt guard,
// QueueAdmin) make a call.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <string>

#include "common/result.h"

namespace sg::keyservice {

grpc::Status ToGrpc(const Error& error);
// A failed call; `what` names the RPC for transport errors.
Error FromGrpc(const grpc::Status& status, const std::string& endpoint);

// One unary call of `method` on `stub` with a deadline `timeout` from now;
// with wait_for_ready a channel that is not connected yet (a restarting
// server) is waited for until the deadline instead of failing at once. The
// answer is in *resp; a failure is FromGrpc(status, endpoint).
template <typename Stub, typename Req, typename Resp>
Status UnaryCall(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Stub& stub,
                 const Req& req, Resp* resp, std::chrono::milliseconds timeout,
                 const std::string& endpoint, bool wait_for_ready) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  ctx.set_wait_for_ready(wait_for_ready);
  grpc::Status s = (stub.*method)(&ctx, req, resp);
  if (!s.ok()) return FromGrpc(s, endpoint);
  return OkStatus();
}

}  // namespace sg::keyservice
