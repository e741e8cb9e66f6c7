// UsageAdmin: usage counting for billing (docs/usage.md), as used by
// smimegatectl (over gRPC: KeyServiceClient), the admin REST API and the
// workers' message-counter batches (in process: KeyServiceImpl implements it).
//
//   UsageSnapshot()         today's snapshot (UTC) of every hosted domain's
//                           participating users, tenant, reseller and total
//                           users: one record per day, merged into by every
//                           call that day (users: the union), never changed
//                           once the day is over; false when nothing changed.
//                           The keyservice's scheduler calls it every pass;
//                           so can an operator.
//   GetUsageReport(...)     a month's report from its snapshots and counters
//                           (usage_report.h); the same for a past month after
//                           any later change.
//   UsageSetTotal(d, n)     the admin-set number of users of domain d (0
//                           clears it: the directory import's count again).
//   UsageRecordMessages(c)  adds a batch of message counters (tenant ->
//                           counter -> count) to today's.
//
// Errors: kInvalidArgument for a malformed month, domain or counter name;
// kNotFound for an unknown tenant, reseller or domain.
// Threading: thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "keyservice/usage_report.h"

namespace sg::keyservice {

class UsageAdmin {
 public:
  virtual ~UsageAdmin() = default;
  virtual Result<bool> UsageSnapshot() = 0;
  virtual Result<UsageReport> GetUsageReport(const std::string& month, const std::string& tenant,
                                             const std::string& reseller) = 0;
  virtual Status UsageSetTotal(const std::string& domain, uint32_t total) = 0;
  virtual Status UsageRecordMessages(const UsageMessages& counts) = 0;
};

}  // namespace sg::keyservice
