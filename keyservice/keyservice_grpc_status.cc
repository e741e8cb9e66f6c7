#include "keyservice/keyservice_grpc_status.h"

namespace sg::keyservice {

grpc::Status ToGrpc(const Error& error) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (error.code) {
    case ErrorCode::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case ErrorCode::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case ErrorCode::kAlreadyExists: code = grpc::StatusCode::ALREADY_EXISTS; break;
    case ErrorCode::kPermissionDenied: code = grpc::StatusCode::PERMISSION_DENIED; break;
    case ErrorCode::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case ErrorCode::kTimeout: code = grpc::StatusCode::DEADLINE_EXCEEDED; break;
    case ErrorCode::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case ErrorCode::kIoError: code = grpc::StatusCode::ABORTED; break;
    case ErrorCode::kCorruption: code = grpc::StatusCode::DATA_LOSS; break;
    case ErrorCode::kUnsupported: code = grpc::StatusCode::UNIMPLEMENTED; break;
    case ErrorCode::kCancelled: code = grpc::StatusCode::CANCELLED; break;
    case ErrorCode::kInternal: code = grpc::StatusCode::INTERNAL; break;
  }
  return grpc::Status(code, error.message);
}

Error FromGrpc(const grpc::Status& status, const std::string& endpoint) {
  ErrorCode code = ErrorCode::kInternal;
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT: code = ErrorCode::kInvalidArgument; break;
    case grpc::StatusCode::NOT_FOUND: code = ErrorCode::kNotFound; break;
    case grpc::StatusCode::ALREADY_EXISTS: code = ErrorCode::kAlreadyExists; break;
    case grpc::StatusCode::PERMISSION_DENIED: code = ErrorCode::kPermissionDenied; break;
    case grpc::StatusCode::UNAVAILABLE:
      return MakeError(ErrorCode::kUnavailable,
                       "keyservice at " + endpoint + " unavailable: " + status.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return MakeError(ErrorCode::kTimeout,
                       "keyservice at " + endpoint + " did not answer in time");
    case grpc::StatusCode::UNAUTHENTICATED:
      return MakeError(ErrorCode::kPermissionDenied,
                       "keyservice at " + endpoint + " refused the call: not authenticated: " +
                           status.error_message());
    case grpc::StatusCode::RESOURCE_EXHAUSTED: code = ErrorCode::kResourceExhausted; break;
    case grpc::StatusCode::ABORTED: code = ErrorCode::kIoError; break;
    case grpc::StatusCode::DATA_LOSS: code = ErrorCode::kCorruption; break;
    case grpc::StatusCode::UNIMPLEMENTED: code = ErrorCode::kUnsupported; break;
    case grpc::StatusCode::CANCELLED: code = ErrorCode::kCancelled; break;
    default: code = ErrorCode::kInternal; break;
  }
  return MakeError(code, status.error_message());
}

}  // namespace sg::keyservice
