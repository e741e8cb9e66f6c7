// UsageStore: usage counting's records in the keyservice store's meta column
// family (docs/usage.md): the daily snapshots ("usage/day/<date>", one per
// day; during the day every pass merges into it, later days never touch
// it), the message counters per day and tenant
// ("usage/msg/<date>/<tenant>", added to in batches) and the admin-set
// number of users of a domain ("usage/total/<domain>").
//
// Threading: thread-safe; AddMessages's read-modify-write is serialised here.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/key_store.h"
#include "keyservice/usage_report.h"

namespace sg::keyservice {

class UsageStore {
 public:
  explicit UsageStore(KeyStore& store) : store_(store) {}

  Result<bool> HasDay(const std::string& date);
  // Merges `day` into the stored snapshot of its date: the participating
  // users are the union (participating at any moment of the day), tenant,
  // reseller and total of a domain the latest; a domain seen earlier that day
  // stays. False when nothing changed (nothing written).
  Result<bool> MergeDay(const UsageDay& day);
  // Every snapshot of `month` ("2026-11"), by date.
  Result<std::vector<UsageDay>> DaysOfMonth(const std::string& month);

  // Adds `counts` to the tenant's counters of `date`.
  Status AddMessages(const std::string& date, const std::string& tenant,
                     const std::map<std::string, uint64_t>& counts);
  // The month's counters per tenant, summed over its days.
  Result<UsageMessages> MessagesOfMonth(const std::string& month);

  // 0 removes the admin-set number.
  Status SetTotal(const std::string& domain, uint32_t total);
  Result<std::map<std::string, uint32_t>> Totals();

 private:
  KeyStore& store_;
  std::mutex mu_;
};

}  // namespace sg::keyservice
