#include "keyservice/usage_store.h"

#include <set>

#include "keyservice/keyservice_store.pb.h"

namespace sg::keyservice {
namespace {

constexpr const char* kDayPrefix = "usage/day/";
constexpr const char* kMsgPrefix = "usage/msg/";
constexpr const char* kTotalPrefix = "usage/total/";

std::string Key(const char* prefix, const std::string& rest) {
  std::string key(prefix);
  key.append(rest);
  return key;
}

Error Broken(const std::string& key) {
  return MakeError(ErrorCode::kCorruption, "keyservice store: broken usage record " + key);
}

UsageDay FromStored(const store::StoredUsageDay& s) {
  UsageDay d;
  d.date = s.date();
  d.taken_at = s.taken_at();
  for (const auto& x : s.domains()) {
    UsageDomainDay dd;
    dd.domain = x.domain();
    dd.tenant = x.tenant();
    dd.reseller = x.reseller();
    dd.participating.assign(x.participating().begin(), x.participating().end());
    dd.total_users = x.total_users();
    dd.total_source = x.total_source();
    d.domains.push_back(std::move(dd));
  }
  return d;
}

}  // namespace

Result<bool> UsageStore::HasDay(const std::string& date) {
  SG_ASSIGN_OR_RETURN(auto raw, store_.GetMeta(Key(kDayPrefix, date)));
  return raw.has_value();
}

Result<bool> UsageStore::MergeDay(const UsageDay& day) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = Key(kDayPrefix, day.date);
  SG_ASSIGN_OR_RETURN(auto raw, store_.GetMeta(key));
  store::StoredUsageDay old;
  if (raw && !old.ParseFromString(*raw)) return Broken(key);
  std::map<std::string, UsageDomainDay> merged;
  for (const auto& dd : FromStored(old).domains) merged[dd.domain] = dd;
  for (const auto& dd : day.domains) {
    UsageDomainDay& m = merged[dd.domain];
    std::set<std::string> users(m.participating.begin(), m.participating.end());
    users.insert(dd.participating.begin(), dd.participating.end());
    m = dd;
    m.participating.assign(users.begin(), users.end());
  }
  store::StoredUsageDay s;
  s.set_date(day.date);
  s.set_taken_at(raw ? old.taken_at() : day.taken_at);
  for (const auto& [name, dd] : merged) {
    auto* x = s.add_domains();
    x->set_domain(dd.domain);
    x->set_tenant(dd.tenant);
    x->set_reseller(dd.reseller);
    for (const auto& a : dd.participating) x->add_participating(a);
    x->set_total_users(dd.total_users);
    x->set_total_source(dd.total_source);
  }
  std::string bytes = s.SerializeAsString();
  if (raw && bytes == *raw) return false;
  SG_RETURN_IF_ERROR(store_.PutMeta(key, bytes));
  return true;
}

Result<std::vector<UsageDay>> UsageStore::DaysOfMonth(const std::string& month) {
  const std::string prefix = Key(kDayPrefix, month + "-");
  SG_ASSIGN_OR_RETURN(auto raws, store_.ScanMeta(prefix));
  std::vector<UsageDay> out;
  out.reserve(raws.size());
  for (const auto& raw : raws) {
    store::StoredUsageDay s;
    if (!s.ParseFromString(raw)) return Broken(prefix);
    out.push_back(FromStored(s));
  }
  return out;
}

Status UsageStore::AddMessages(const std::string& date, const std::string& tenant,
                               const std::map<std::string, uint64_t>& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = Key(kMsgPrefix, date + "/" + tenant);
  SG_ASSIGN_OR_RETURN(auto raw, store_.GetMeta(key));
  store::StoredUsageMessages m;
  if (raw && !m.ParseFromString(*raw)) return Broken(key);
  for (const auto& [k, v] : counts) (*m.mutable_counts())[k] += v;
  return store_.PutMeta(key, m.SerializeAsString());
}

Result<UsageMessages> UsageStore::MessagesOfMonth(const std::string& month) {
  // Keys "usage/msg/2026-11-05/<tenant>": the tenant is after the date.
  SG_ASSIGN_OR_RETURN(auto keys, store_.ScanMetaKeys(Key(kMsgPrefix, month + "-")));
  UsageMessages out;
  for (const auto& [key, raw] : keys) {
    store::StoredUsageMessages m;
    if (!m.ParseFromString(raw)) return Broken(key);
    const std::string tenant = key.substr(std::string(kMsgPrefix).size() + 11);
    for (const auto& [k, v] : m.counts()) out[tenant][k] += v;
  }
  return out;
}

Status UsageStore::SetTotal(const std::string& domain, uint32_t total) {
  if (total == 0) return store_.DeleteMeta(Key(kTotalPrefix, domain));
  store::StoredUsageTotal t;
  t.set_total_users(total);
  return store_.PutMeta(Key(kTotalPrefix, domain), t.SerializeAsString());
}

Result<std::map<std::string, uint32_t>> UsageStore::Totals() {
  SG_ASSIGN_OR_RETURN(auto keys, store_.ScanMetaKeys(kTotalPrefix));
  std::map<std::string, uint32_t> out;
  for (const auto& [key, raw] : keys) {
    store::StoredUsageTotal t;
    if (!t.ParseFromString(raw)) return Broken(key);
    out[key.substr(std::string(kTotalPrefix).size())] = t.total_users();
  }
  return out;
}

}  // namespace sg::keyservice
