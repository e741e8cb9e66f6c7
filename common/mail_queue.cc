#include "common/mail_queue.h"

#include <algorithm>
#include <array>

#include "common/ascii.h"

namespace sg::mailqueue {
namespace {

constexpr std::array<int64_t, 9> kBucketMinutes = {5, 10, 20, 40, 80, 160, 320, 640, 1280};
constexpr size_t kBuckets = std::size(kBucketMinutes) + 1;

// The recipient's domain as the summary groups it (lower case; the
// address without an @ groups under itself, like qshape).
std::string DomainKey(const std::string& address) {
  const auto at = address.rfind('@');
  return AsciiLower(at == std::string::npos ? address : address.substr(at + 1));
}

size_t BucketOf(int64_t age_ms) {
  const int64_t minutes = std::max<int64_t>(0, age_ms) / 60000;
  size_t b = 0;
  while (b < std::size(kBucketMinutes) && minutes >= kBucketMinutes[b]) ++b;
  return b;
}

void Count(SummaryRow& row, size_t bucket) {
  if (row.buckets.empty()) row.buckets.assign(kBuckets, 0);
  ++row.total;
  ++row.buckets[bucket];
}

}  // namespace

Summary Summarize(const std::vector<Entry>& entries, int64_t now_ms) {
  Summary s;
  s.bucket_minutes.assign(std::begin(kBucketMinutes), std::end(kBucketMinutes));
  s.total.domain = "TOTAL";
  s.total.buckets.assign(kBuckets, 0);
  std::map<std::string, SummaryRow> by_domain;
  std::map<std::string, std::map<std::string, bool>> messages_per_state;
  for (const auto& e : entries) {
    messages_per_state[e.state][e.message_id] = true;
    const size_t bucket = BucketOf(now_ms - e.received_at_ms);
    for (const auto& r : e.recipients) {
      SummaryRow& row = by_domain[DomainKey(r)];
      row.domain = DomainKey(r);
      Count(row, bucket);
      Count(s.total, bucket);
    }
  }
  for (auto& [state, ids] : messages_per_state) s.states[state] = ids.size();
  for (auto& [domain, row] : by_domain) s.rows.push_back(std::move(row));
  std::stable_sort(s.rows.begin(), s.rows.end(), [](const SummaryRow& a, const SummaryRow& b) {
    return a.total > b.total;
  });
  return s;
}

}  // namespace sg::mailqueue
