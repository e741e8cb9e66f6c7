#include "common/kafka_retention.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <charconv>

namespace sg::queue {

namespace {

ReferenceTerms Copy(const std::string& topic, const std::string& why) {
  return {ReferenceMode::kCopy, "topic " + topic + ": " + why};
}

// The integer value of `key`, or nullopt when absent or not a number.
std::optional<int64_t> IntValue(const std::map<std::string, std::string>& config,
                                const std::string& key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ReferenceTerms KafkaRetentionTerms(const std::string& topic,
                                   const std::map<std::string, std::string>& config,
                                   std::chrono::milliseconds min_retention) {
  auto policy = config.find("cleanup.policy");
  if (policy == config.end() || policy->second != "delete") {
    return Copy(topic, "cleanup.policy is " +
                           (policy == config.end() ? std::string("not known") : policy->second) +
                           ", not delete (fix: kafka-configs.sh --alter --add-config "
                           "cleanup.policy=delete)");
  }
  const auto bytes = IntValue(config, "retention.bytes");
  if (!bytes || *bytes != -1) {
    return Copy(topic, "retention.bytes is " +
                           (bytes ? std::to_string(*bytes) : std::string("not known")) +
                           ", not -1: records may go by size at any time (fix: "
                           "retention.bytes=-1, bound the topic by retention.ms)");
  }
  const auto ms = IntValue(config, "retention.ms");
  if (!ms || (*ms != -1 && *ms < min_retention.count())) {
    return Copy(topic, "retention.ms is " + (ms ? std::to_string(*ms) : std::string("not known")) +
                           ", shorter than queue.kafka.share_min_retention (" +
                           std::to_string(min_retention.count()) +
                           " ms; fix: a longer retention.ms, or a shorter minimum)");
  }
  return {ReferenceMode::kRetained,
          "topic " + topic + " keeps records " +
              (*ms == -1 ? std::string("for ever") : std::to_string(*ms) + " ms") +
              " (cleanup.policy=delete, retention.bytes=-1)"};
}

Result<std::map<std::string, std::string>> DescribeTopicConfig(rd_kafka_t* rk,
                                                               const std::string& topic,
                                                               std::chrono::milliseconds timeout,
                                                               const std::atomic<bool>& cancel) {
  std::array<char, 512> err{};
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  const int ms = static_cast<int>(timeout.count());
  if (rd_kafka_AdminOptions_set_request_timeout(opts, ms, err.data(), err.size()) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ConfigResource_destroy(res);
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("kafka describe configs: ") + err.data());
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConfigs(rk, &res, 1, opts, q);
  rd_kafka_event_t* ev = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
  while (ev == nullptr && !cancel && std::chrono::steady_clock::now() < deadline) {
    ev = rd_kafka_queue_poll(q, 100);
  }
  Result<std::map<std::string, std::string>> out = std::map<std::string, std::string>();
  if (ev == nullptr && cancel) {
    out = MakeError(ErrorCode::kCancelled, "kafka describe configs of " + topic + ": cancelled");
  } else if (ev == nullptr) {
    out = MakeError(ErrorCode::kTimeout, "kafka describe configs of " + topic + ": no answer");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = MakeError(ErrorCode::kUnavailable,
                    "kafka describe configs of " + topic + ": " + rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    for (size_t i = 0; i < n && out.ok(); ++i) {
      if (rd_kafka_ConfigResource_error(rs[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        out = MakeError(ErrorCode::kUnavailable, "kafka describe configs of " + topic + ": " +
                                                     rd_kafka_ConfigResource_error_string(rs[i]));
        break;
      }
      size_t m = 0;
      const rd_kafka_ConfigEntry_t** es = rd_kafka_ConfigResource_configs(rs[i], &m);
      for (size_t j = 0; j < m; ++j) {
        const char* v = rd_kafka_ConfigEntry_value(es[j]);
        (*out)[rd_kafka_ConfigEntry_name(es[j])] = v != nullptr ? v : "";
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_ConfigResource_destroy(res);
  return out;
}

}  // namespace sg::queue
