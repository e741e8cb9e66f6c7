// Prometheus metrics of the S/MIME engine.
//
// Registered once (all label combinations resolved at construction, so the
// hot path only does atomic increments and takes no lock); passed to
// SmimeEngine::Create, which records every operation:
//   smimegate_smime_operations_total{op, result}   result: ok or an ErrorCode name
//   smimegate_smime_verify_total{status}           VerifyStatus name
//   smimegate_smime_operation_seconds{op}          latency histogram
// op is one of sign, encrypt, decrypt, verify.
// Threading: thread-safe; lives as long as the registry and the engine.
#pragma once

#include <array>
#include <string_view>

#include "common/metrics.h"
#include "common/result.h"

namespace sg::smime {

enum class VerifyStatus;

class SmimeMetrics {
 public:
  enum Op { kSign = 0, kEncrypt, kDecrypt, kVerify, kOpCount };

  explicit SmimeMetrics(metrics::Registry& registry);

  // |error| is nullptr on success.
  void Operation(Op op, const Error* error, double seconds);
  void Verified(VerifyStatus status);

 private:
  static constexpr size_t kResults = 13;  // ok + every ErrorCode
  static constexpr size_t kStatuses = 14;  // every VerifyStatus
  std::array<std::array<metrics::Counter*, kResults>, kOpCount> ops_{};
  std::array<metrics::Histogram*, kOpCount> seconds_{};
  std::array<metrics::Counter*, kStatuses> verify_{};
};

}  // namespace sg::smime
