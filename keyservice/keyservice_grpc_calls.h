// How KeyServiceClient makes its calls (keyservice_grpc_client.cc for the
// KeyService and KeyAdmin services, dkim_grpc_client.cc for Dkim): one stub
// per service on the client's channel, and every call registered in
// ActiveCalls while it runs, so that KeyServiceClient::Shutdown cancels all
// of them and refuses later ones. Internal to sg_keyservice.
//
// Threading: TrackedCall may run on any number of threads at once;
// ActiveCalls is guarded by its mutex.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_grpc_status.h"
#include "proto/dkim.grpc.pb.h"
#include "proto/keyservice.grpc.pb.h"

namespace sg::keyservice {

struct KeyServiceClient::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<::smimegate::keyservice::v1::KeyService::Stub> service;
  std::unique_ptr<::smimegate::keyservice::v1::KeyAdmin::Stub> admin;
  std::unique_ptr<::smimegate::keyservice::v1::Dkim::Stub> dkim;
};

struct ActiveCalls {
  std::mutex mu;
  std::set<grpc::ClientContext*> contexts;  // guarded by mu
  bool shut_down = false;                   // guarded by mu
};

// What every call answers once Shutdown has run: an outage, never the
// caller's fault.
inline Error ShuttingDown(const std::string& endpoint) {
  return MakeError(ErrorCode::kUnavailable,
                   "keyservice " + endpoint + ": this process is shutting down");
}

// UnaryCall (keyservice_grpc_status.h), registered in `calls` while it runs:
// ShuttingDown at once after Shutdown, and for a call Shutdown cancelled.
template <typename Stub, typename Req, typename Resp>
Status TrackedCall(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                   Stub* stub, const Req& req, Resp* resp, std::chrono::milliseconds timeout,
                   const std::string& endpoint, bool wait_for_ready, ActiveCalls& calls) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  ctx.set_wait_for_ready(wait_for_ready);
  {
    std::lock_guard<std::mutex> lock(calls.mu);
    if (calls.shut_down) return ShuttingDown(endpoint);
    calls.contexts.insert(&ctx);
  }
  grpc::Status s = (stub->*method)(&ctx, req, resp);
  {
    std::lock_guard<std::mutex> lock(calls.mu);
    calls.contexts.erase(&ctx);
    if (calls.shut_down && !s.ok()) return ShuttingDown(endpoint);
  }
  if (!s.ok()) return FromGrpc(s, endpoint);
  return OkStatus();
}

}  // namespace sg::keyservice
