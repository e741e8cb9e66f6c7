#include "common/kafka_record_reader.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <string>

namespace sg::queue {

namespace {

std::string Name(const RecordRef& ref) {
  return "queue record " + ref.topic + "/" + std::to_string(ref.partition) + "@" +
         std::to_string(ref.offset);
}

}  // namespace

Record ToRecord(const rd_kafka_message_t* m) {
  Record r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t tstype;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
  if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      r.headers.push_back({name, std::string(static_cast<const char*>(val), size)});
    }
  }
  return r;
}

Result<std::unique_ptr<KafkaRecordReader>> KafkaRecordReader::Open(rd_kafka_conf_t* conf) {
  std::array<char, 512> err{};
  // No group is joined (assign only); group.id is what librdkafka's
  // consumer API wants. An offset below the partition's start is an error,
  // not a reset: that record is gone.
  for (const auto& [k, v] :
       {std::pair<const char*, const char*>{"group.id", "smimegate-record-reader"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "error"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", "10"}}) {
    if (rd_kafka_conf_set(conf, k, v, err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("queue.kafka record reader: ") + err.data());
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size());
  if (rk == nullptr) {  // rd_kafka_new frees conf only on success
    rd_kafka_conf_destroy(conf);
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("queue.kafka record reader: ") + err.data());
  }
  return std::unique_ptr<KafkaRecordReader>(new KafkaRecordReader(rk));
}

KafkaRecordReader::~KafkaRecordReader() {
  // Assigned, never subscribed: no group to leave, closing cannot block.
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

Result<Record> KafkaRecordReader::Read(const RecordRef& ref, std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, ref.topic.c_str(), ref.partition)->offset = ref.offset;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return MakeError(ErrorCode::kUnavailable, Name(ref) + ": assign: " + rd_kafka_err2str(e));
  }
  Result<Record> out = PollFor(ref, timeout);
  // Nothing stays assigned: no fetching in the background between reads.
  if (rd_kafka_resp_err_t u = rd_kafka_assign(rk_, nullptr); u != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return MakeError(ErrorCode::kUnavailable, Name(ref) + ": unassign: " + rd_kafka_err2str(u));
  }
  return out;
}

Result<Record> KafkaRecordReader::PollFor(const RecordRef& ref, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    if (m == nullptr) continue;
    const bool ours = m->rkt != nullptr && ref.topic == rd_kafka_topic_name(m->rkt) &&
                      m->partition == ref.partition;
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      rd_kafka_message_destroy(m);
      return MakeError(ErrorCode::kNotFound,
                       Name(ref) + " is gone (the topic's retention deleted it)");
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && ours && m->offset <= ref.offset) {
      rd_kafka_message_destroy(m);
      return MakeError(ErrorCode::kNotFound, Name(ref) + " was never written");
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || !ours || m->offset < ref.offset) {
      rd_kafka_message_destroy(m);  // another partition's leftovers, or a stale event
      continue;
    }
    if (m->offset > ref.offset) {
      rd_kafka_message_destroy(m);
      return MakeError(ErrorCode::kNotFound, Name(ref) + " is gone");
    }
    Record r = ToRecord(m);
    rd_kafka_message_destroy(m);
    return r;
  }
  return MakeError(ErrorCode::kTimeout,
                   Name(ref) + ": nothing arrived in " + std::to_string(timeout.count()) + " ms");
}

}  // namespace sg::queue
