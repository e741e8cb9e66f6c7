// KafkaRetentionTerms (common/kafka_retention.h): when a Kafka topic's
// configuration lets a deliver record refer to its records (issue 21).
#include "common/kafka_retention.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

struct Case {
  std::string what;
  std::map<std::string, std::string> config;
  ReferenceMode want;
  std::string reason_names;  // a word the reason must contain
};

TEST(KafkaRetentionTerms, OnlyATopicThatKeepsRecordsLongEnoughMayBeReferredTo) {
  const std::map<std::string, std::string> week = {
      {"cleanup.policy", "delete"}, {"retention.bytes", "-1"}, {"retention.ms", "604800000"}};
  auto with = [&](const std::string& k, const std::string& v) {
    auto c = week;
    c[k] = v;
    return c;
  };
  auto without = [&](const std::string& k) {
    auto c = week;
    c.erase(k);
    return c;
  };
  const std::vector<Case> cases = {
      {"a week, by time only", week, ReferenceMode::kRetained, "604800000"},
      {"for ever", with("retention.ms", "-1"), ReferenceMode::kRetained, "for ever"},
      {"exactly the minimum", with("retention.ms", "86400000"), ReferenceMode::kRetained, "ms"},
      {"shorter than the minimum", with("retention.ms", "86399999"), ReferenceMode::kCopy,
       "share_min_retention"},
      {"an hour", with("retention.ms", "3600000"), ReferenceMode::kCopy, "retention.ms"},
      {"bounded by size", with("retention.bytes", "1073741824"), ReferenceMode::kCopy,
       "retention.bytes"},
      {"compacted", with("cleanup.policy", "compact"), ReferenceMode::kCopy, "cleanup.policy"},
      {"compacted and deleted", with("cleanup.policy", "compact,delete"), ReferenceMode::kCopy,
       "cleanup.policy"},
      {"no policy known", without("cleanup.policy"), ReferenceMode::kCopy, "not known"},
      {"no size limit known", without("retention.bytes"), ReferenceMode::kCopy, "not known"},
      {"no time limit known", without("retention.ms"), ReferenceMode::kCopy, "not known"},
      {"not a number", with("retention.ms", "7d"), ReferenceMode::kCopy, "not known"},
  };
  for (const auto& c : cases) {
    ReferenceTerms t = KafkaRetentionTerms("smimegate.inbound", c.config, 24h);
    EXPECT_EQ(t.mode, c.want) << c.what << ": " << t.reason;
    EXPECT_NE(t.reason.find(c.reason_names), std::string::npos) << c.what << ": " << t.reason;
    EXPECT_NE(t.reason.find("smimegate.inbound"), std::string::npos) << c.what << ": " << t.reason;
  }
}

}  // namespace
}  // namespace sg::queue
