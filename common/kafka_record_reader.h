// KafkaRecordReader: reads single records by offset for Queue::ReadRecord in
// the Kafka mode (egress resolving a body reference, issue 21). One
// librdkafka consumer that joins no group and commits nothing, kept open for
// the queue's lifetime: each read assigns the one partition at the wanted
// offset, takes that record and unassigns. (The generic ReadRange opens a
// consumer per call: a connection and a metadata round trip per record.)
//
// Threading: Read may be called from any thread; reads are serialised.
// Errors: kNotFound when the record is gone (below the partition's start:
// retention deleted it) or was never written; kTimeout; others from Kafka.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "common/queue.h"
#include "common/result.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

namespace sg::queue {

// A consumed librdkafka message as a Record (copies key, value, headers).
Record ToRecord(const rd_kafka_message_t* m);

class KafkaRecordReader {
 public:
  // Takes ownership of `conf` (the queue's base settings) in every case.
  static Result<std::unique_ptr<KafkaRecordReader>> Open(rd_kafka_conf_t* conf);
  ~KafkaRecordReader();
  KafkaRecordReader(const KafkaRecordReader&) = delete;
  KafkaRecordReader& operator=(const KafkaRecordReader&) = delete;

  Result<Record> Read(const RecordRef& ref, std::chrono::milliseconds timeout);

 private:
  explicit KafkaRecordReader(rd_kafka_t* rk) : rk_(rk) {}
  Result<Record> PollFor(const RecordRef& ref, std::chrono::milliseconds timeout);

  std::mutex mu_;  // one read at a time: the assignment is the read
  rd_kafka_t* rk_;
};

}  // namespace sg::queue
