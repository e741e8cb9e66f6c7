#include "workers/smime/smime_metrics.h"

#include <string>

#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

constexpr std::string_view kOpNames[] = {"sign", "encrypt", "decrypt", "verify"};

}  // namespace

SmimeMetrics::SmimeMetrics(metrics::Registry& registry) {
  auto& ops = registry.AddCounter("smimegate_smime_operations_total",
                                  "S/MIME engine operations by result (ok or error code)",
                                  {"op", "result"});
  auto& seconds = registry.AddHistogram("smimegate_smime_operation_seconds",
                                        "Time of one S/MIME engine operation", {"op"},
                                        metrics::LatencyBuckets());
  auto& verify = registry.AddCounter("smimegate_smime_verify_total",
                                     "Signature verifications by status", {"status"});
  for (size_t op = 0; op < kOpCount; ++op) {
    std::string name(kOpNames[op]);
    ops_[op][0] = &ops.WithLabels({name, "ok"});
    for (size_t code = 0; code + 1 < kResults; ++code) {
      ops_[op][code + 1] =
          &ops.WithLabels({name, std::string(ErrorCodeName(static_cast<ErrorCode>(code)))});
    }
    seconds_[op] = &seconds.WithLabels({name});
  }
  for (size_t s = 0; s < kStatuses; ++s) {
    verify_[s] = &verify.WithLabels({std::string(VerifyStatusName(static_cast<VerifyStatus>(s)))});
  }
}

void SmimeMetrics::Operation(Op op, const Error* error, double seconds) {
  size_t result = error == nullptr ? 0 : static_cast<size_t>(error->code) + 1;
  if (result < kResults) ops_[op][result]->Inc();
  seconds_[op]->Observe(seconds);
}

void SmimeMetrics::Verified(VerifyStatus status) {
  auto s = static_cast<size_t>(status);
  if (s < kStatuses) verify_[s]->Inc();
}

}  // namespace sg::smime
