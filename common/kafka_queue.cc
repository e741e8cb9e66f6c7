#include "common/kafka_queue.h"

#include "common/kafka_member_id.h"
#include "common/kafka_properties.h"
#include "common/kafka_record_reader.h"
#include "common/kafka_retention.h"
#include "common/queue_ready.h"
#include "common/thread_name.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace sg::queue {

namespace {

using namespace std::chrono_literals;

struct TpLess {
  bool operator()(const TopicPartition& a, const TopicPartition& b) const {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  }
};

ErrorCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return ErrorCode::kTimeout;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return ErrorCode::kNotFound;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return ErrorCode::kResourceExhausted;
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return ErrorCode::kUnsupported;
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kUnavailable;
  }
}

Error KafkaError(rd_kafka_resp_err_t err, const std::string& what) {
  return MakeError(CodeFor(err), what + ": " + rd_kafka_err2str(err));
}

// rd_kafka_conf_t with the settings every handle shares.
Result<rd_kafka_conf_t*> BaseConf(const KafkaQueueOptions& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "queue.kafka: " + k + ": " + err);
    }
    return OkStatus();
  };
  Status s = set("bootstrap.servers", o.brokers);
  if (s.ok()) s = set("client.id", o.client_id);
  // Room for the largest record plus protocol overhead.
  std::string max = std::to_string(o.max_record_bytes + (1 << 20));
  if (s.ok()) s = set("message.max.bytes", max);
  if (s.ok()) s = set("receive.message.max.bytes", std::to_string(o.max_record_bytes + (2 << 20)));
  for (const auto& [k, v] : o.properties) {
    if (s.ok()) s = set(k, v);
  }
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  return conf;
}

struct DeliveryContext {
  ProduceCallback done;
  std::shared_ptr<std::atomic<int64_t>> inflight;
  std::shared_ptr<std::condition_variable> flushed;
  std::shared_ptr<std::mutex> flush_mu;
};

}  // namespace

class KafkaQueueImpl {
 public:
  explicit KafkaQueueImpl(KafkaQueueOptions o)
      : options_(std::move(o)), instance_ids_(options_.static_member_name) {}

  // The group.instance.id of the next consumer of `group`; "" without
  // static membership.
  Result<std::string> NextInstanceId(const std::string& group) {
    if (options_.static_member_name.empty()) return std::string();
    std::lock_guard<std::mutex> lock(mu_);
    return instance_ids_.Next(group);
  }

  ~KafkaQueueImpl() {
    stop_ = true;
    for (auto& d : describers_) d.join();  // each bounded by its request timeout
    reader_.reset();
    if (poller_.joinable()) poller_.join();
    if (producer_) {
      rd_kafka_flush(producer_, static_cast<int>(options_.close_timeout.count()));
      // Fail what could not be delivered, so every callback runs once.
      rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(producer_, 0);
      rd_kafka_destroy(producer_);
    }
  }

  Status Open() {
    SG_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, BaseConf(options_));
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
      return rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) == RD_KAFKA_CONF_OK;
    };
    if (!set("enable.idempotence", "true") || !set("acks", "all") ||
        !set("linger.ms", std::to_string(options_.linger.count())) ||
        !set("message.timeout.ms", std::to_string(options_.delivery_timeout.count())) ||
        !set("compression.type", "lz4")) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kInvalidArgument, std::string("queue.kafka producer: ") + err);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &KafkaQueueImpl::OnDelivery);
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!producer_) {
      return MakeError(ErrorCode::kInvalidArgument, std::string("queue.kafka: ") + err);
    }
    poller_ = std::thread([this] {
      SetCurrentThreadName("sg-kafka-poll");
      while (!stop_) rd_kafka_poll(producer_, 100);
    });
    return OkStatus();
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    auto* ctx = static_cast<DeliveryContext*>(m->_private);
    if (!ctx) return;
    if (m->err) {
      ctx->done(KafkaError(m->err, "kafka delivery to " +
                                       std::string(rd_kafka_topic_name(m->rkt))));
    } else {
      ctx->done(OkStatus());
    }
    {
      std::lock_guard<std::mutex> lock(*ctx->flush_mu);
      ctx->inflight->fetch_sub(1);
    }
    ctx->flushed->notify_all();
    delete ctx;
  }

  // Partition count from the cluster's metadata, cached.
  Result<int32_t> Partitions(const std::string& topic) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = partitions_.find(topic);
      if (it != partitions_.end()) return it->second;
    }
    SG_ASSIGN_OR_RETURN(auto all, FetchPartitions(5s));
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [t, n] : all) partitions_[t] = n;
    auto it = partitions_.find(topic);
    if (it == partitions_.end()) {
      return MakeError(ErrorCode::kNotFound, "queue topic " + topic + " does not exist in Kafka");
    }
    return it->second;
  }

  Result<std::map<std::string, int32_t>> FetchPartitions(std::chrono::milliseconds timeout) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(producer_, 1, nullptr, &md, static_cast<int>(timeout.count()));
    if (err) return KafkaError(err, "kafka metadata from " + options_.brokers);
    std::map<std::string, int32_t> out;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out[md->topics[i].topic] = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
    return out;
  }

  Status EnsureTopics(const std::vector<TopicSpec>& topics) {
    SG_ASSIGN_OR_RETURN(auto existing, FetchPartitions(10s));
    std::vector<TopicSpec> missing;
    for (const auto& t : topics) {
      auto it = existing.find(t.name);
      if (it == existing.end()) {
        missing.push_back(t);
      } else if (it->second != t.partitions) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "queue topic " + t.name + " has " + std::to_string(it->second) +
                             " partitions in Kafka, config asks for " +
                             std::to_string(t.partitions) +
                             " (set queue.partitions to match, or recreate the topic)");
      }
    }
    if (!missing.empty()) {
      if (!options_.create_topics) {
        return MakeError(ErrorCode::kNotFound,
                         "queue topic " + missing[0].name +
                             " does not exist in Kafka (create it with " +
                             std::to_string(missing[0].partitions) +
                             " partitions, or set queue.kafka.create_topics: true)");
      }
      SG_RETURN_IF_ERROR(CreateTopics(missing));
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : topics) partitions_[t.name] = t.partitions;
    return OkStatus();
  }

  Status CreateTopics(const std::vector<TopicSpec>& topics) {
    char err[512];
    std::vector<rd_kafka_NewTopic_t*> nts;
    for (const auto& t : topics) {
      nts.push_back(rd_kafka_NewTopic_new(t.name.c_str(), t.partitions,
                                          options_.replication_factor, err, sizeof(err)));
      for (const auto& [k, v] : KafkaTopicConfig(t)) {
        rd_kafka_NewTopic_set_config(nts.back(), k.c_str(), v.c_str());
      }
    }
    rd_kafka_queue_t* q = rd_kafka_queue_new(producer_);
    rd_kafka_CreateTopics(producer_, nts.data(), nts.size(), nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
    Status result = OkStatus();
    if (!ev) {
      result = MakeError(ErrorCode::kTimeout, "queue topic " + topics[0].name +
                                                  " does not exist and creating it timed out");
    } else if (rd_kafka_event_error(ev)) {
      result = MakeError(ErrorCode::kNotFound,
                         "queue topic " + topics[0].name +
                             " does not exist in Kafka and cannot be created here (" +
                             rd_kafka_event_error_string(ev) + "); create it with " +
                             std::to_string(topics[0].partitions) + " partitions");
    } else {
      const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
      size_t n = 0;
      const rd_kafka_topic_result_t** trs = rd_kafka_CreateTopics_result_topics(res, &n);
      for (size_t i = 0; i < n && result.ok(); ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(trs[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          result = MakeError(ErrorCode::kNotFound,
                             std::string("queue topic ") + rd_kafka_topic_result_name(trs[i]) +
                                 " does not exist in Kafka and cannot be created: " +
                                 rd_kafka_err2str(e));
        }
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    for (auto* nt : nts) rd_kafka_NewTopic_destroy(nt);
    return result;
  }

  void Produce(OutRecord record, ProduceCallback done,
               const std::shared_ptr<std::atomic<int64_t>>& inflight,
               const std::shared_ptr<std::condition_variable>& flushed,
               const std::shared_ptr<std::mutex>& flush_mu) {
    if (!record.pins.empty()) {
      // Kafka deletes by time and size, whatever refers to a record: a
      // caller copies instead (SupportsPins() is false; docs/architecture.md).
      done(MakeError(ErrorCode::kUnsupported,
                     "queue: the Kafka mode keeps no pinned records; copy the data instead"));
      return;
    }
    auto parts = Partitions(record.topic);
    if (!parts.ok()) {
      done(parts.error());
      return;
    }
    int32_t partition =
        record.partition ? *record.partition : PartitionForKey(record.key, *parts);
    if (partition < 0 || partition >= *parts) {
      done(MakeError(ErrorCode::kInvalidArgument,
                     "queue topic " + record.topic + " has no partition " +
                         std::to_string(partition)));
      return;
    }
    uint64_t size = record.value.size() + record.key.size();
    if (size > options_.max_record_bytes) {
      done(MakeError(ErrorCode::kResourceExhausted,
                     "queue record of " + std::to_string(size) + " bytes exceeds the limit of " +
                         std::to_string(options_.max_record_bytes)));
      return;
    }
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(record.headers.size());
    for (const auto& h : record.headers) {
      rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    auto* ctx = new DeliveryContext{std::move(done), inflight, flushed, flush_mu};
    inflight->fetch_add(1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(record.key.data(), record.key.size()),
        RD_KAFKA_V_VALUE(record.value.data(), record.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
    if (err) {
      rd_kafka_headers_destroy(hdrs);  // ownership passes only on success
      ctx->done(KafkaError(err, "kafka produce to " + record.topic));
      {
        std::lock_guard<std::mutex> lock(*flush_mu);
        inflight->fetch_sub(1);
      }
      flushed->notify_all();
      delete ctx;
    }
  }

  const KafkaQueueOptions& options() const { return options_; }

  // The dedicated reader of single records, opened at the first use.
  Result<Record> ReadRecord(const RecordRef& ref) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!reader_) {
        SG_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, BaseConf(options_));
        SG_ASSIGN_OR_RETURN(reader_, KafkaRecordReader::Open(conf));
      }
    }
    return reader_->Read(ref, 5s);
  }

  // Never blocks: the first call for a topic asks the brokers in the
  // background (DescribeConfigs, up to 5 s) and answers kCopy until then.
  ReferenceTerms ReferenceTermsFor(const std::string& topic) {
    if (options_.assume_retention.count() != 0) {
      ReferenceTerms t =
          KafkaRetentionTerms(topic,
                              {{"cleanup.policy", "delete"},
                               {"retention.bytes", "-1"},
                               {"retention.ms", std::to_string(options_.assume_retention.count())}},
                              options_.share_min_retention);
      t.reason += " (stated in queue.kafka.assume_retention, not asked)";
      return t;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = terms_.find(topic); it != terms_.end()) return it->second;
    terms_[topic] = {ReferenceMode::kCopy, "topic " + topic + ": retention not read yet", true};
    describers_.emplace_back([this, topic] {
      SetCurrentThreadName("sg-kafka-descr");
      auto config = DescribeTopicConfig(producer_, topic, 5s, stop_);
      ReferenceTerms t =
          config.ok() ? KafkaRetentionTerms(topic, *config, options_.share_min_retention)
                      : ReferenceTerms{ReferenceMode::kCopy,
                                       "topic " + topic + ": retention not known (" +
                                           config.error().message +
                                           "; fix: allow DescribeConfigs on the topic, or state "
                                           "it in queue.kafka.assume_retention)"};
      std::lock_guard<std::mutex> done(mu_);
      terms_[topic] = std::move(t);
    });
    return terms_[topic];
  }

  Result<OffsetRange> Offsets(const TopicPartition& tp) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        producer_, tp.topic.c_str(), tp.partition, &low, &high, 5000);
    if (err) return KafkaError(err, "kafka offsets of " + tp.topic);
    return OffsetRange{low, high};
  }

  Status DeleteBefore(const TopicPartition& tp, int64_t offset) {
    auto* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = offset;
    rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(list);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_queue_t* q = rd_kafka_queue_new(producer_);
    rd_kafka_DeleteRecords(producer_, &del, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
    Status result = OkStatus();
    if (!ev) {
      result = MakeError(ErrorCode::kTimeout, "kafka delete records of " + tp.topic + " timed out");
    } else if (rd_kafka_event_error(ev)) {
      result = MakeError(CodeFor(rd_kafka_event_error(ev)),
                         "kafka delete records of " + tp.topic + ": " + rd_kafka_event_error_string(ev));
    } else {
      const rd_kafka_topic_partition_list_t* offsets =
          rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
      for (int i = 0; offsets && i < offsets->cnt && result.ok(); ++i) {
        if (offsets->elems[i].err) {
          result = KafkaError(offsets->elems[i].err, "kafka delete records of " + tp.topic);
        }
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteRecords_destroy(del);
    return result;
  }

 private:
  KafkaQueueOptions options_;
  rd_kafka_t* producer_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int32_t> partitions_;
  GroupInstanceIds instance_ids_;  // guarded by mu_
  std::unique_ptr<KafkaRecordReader> reader_;    // set once under mu_
  std::map<std::string, ReferenceTerms> terms_;  // guarded by mu_
  std::vector<std::thread> describers_;          // guarded by mu_
};

namespace {

class KafkaProducer : public Producer {
 public:
  explicit KafkaProducer(std::shared_ptr<KafkaQueueImpl> impl) : impl_(std::move(impl)) {}
  void Produce(OutRecord record, ProduceCallback done) override {
    impl_->Produce(std::move(record), std::move(done), inflight_, flushed_, flush_mu_);
  }
  Status Flush(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(*flush_mu_);
    if (!flushed_->wait_for(lock, timeout, [this] { return inflight_->load() == 0; })) {
      return MakeError(ErrorCode::kTimeout, "kafka flush: records still in flight");
    }
    return OkStatus();
  }

 private:
  std::shared_ptr<KafkaQueueImpl> impl_;
  std::shared_ptr<std::atomic<int64_t>> inflight_ = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<std::condition_variable> flushed_ = std::make_shared<std::condition_variable>();
  std::shared_ptr<std::mutex> flush_mu_ = std::make_shared<std::mutex>();
};

rd_kafka_topic_partition_list_t* ListOf(const TopicPartition& tp, int64_t offset) {
  auto* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, tp.topic.c_str(), tp.partition)->offset = offset;
  return l;
}

// What librdkafka's queue event calls (KafkaConsumer::SetReadyCallback).
struct ReadyHook {
  std::mutex mu;
  std::function<void()> ready;  // guarded by mu
};

class KafkaConsumer : public Consumer, public ReadyNotifier {
 public:
  KafkaConsumer(std::shared_ptr<KafkaQueueImpl> impl, std::vector<std::string> topics)
      : impl_(std::move(impl)), topics_(std::move(topics)) {}

  ~KafkaConsumer() override { Close(); }

  // `instance_id`: the group.instance.id (static membership), or "".
  Status Open(const std::string& group, const std::string& instance_id) {
    SG_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, BaseConf(impl_->options()));
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
      return rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) == RD_KAFKA_CONF_OK;
    };
    if (!set("group.id", group) || !set("enable.auto.commit", "false") ||
        !set("enable.auto.offset.store", "false") || !set("auto.offset.reset", "earliest") ||
        !set("partition.assignment.strategy", "roundrobin") ||
        // The end-of-partition event tells OwnedLag where reading started on
        // a partition that holds nothing new (Poll skips it).
        !set("enable.partition.eof", "true") ||
        !set("session.timeout.ms", std::to_string(impl_->options().session_timeout.count())) ||
        !set("heartbeat.interval.ms",
             std::to_string(std::max<int64_t>(100, impl_->options().session_timeout.count() / 5))) ||
        !set("max.partition.fetch.bytes", std::to_string(8 << 20)) ||
        (!instance_id.empty() && !set("group.instance.id", instance_id))) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kInvalidArgument, std::string("queue.kafka consumer: ") + err);
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaConsumer::OnRebalance);
    rd_kafka_conf_set_error_cb(conf, &KafkaConsumer::OnError);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk_) return MakeError(ErrorCode::kInvalidArgument, std::string("queue.kafka: ") + err);
    rd_kafka_poll_set_consumer(rk_);
    for (const auto& t : topics_) {
      auto p = impl_->Partitions(t);
      if (!p.ok()) return p.error();
    }
    auto* subs = rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()));
    for (const auto& t : topics_) {
      rd_kafka_topic_partition_list_add(subs, t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) return KafkaError(e, "kafka subscribe");
    return OkStatus();
  }

  // Errors served as callbacks (Close serves the consumer queue that way):
  // an end-of-partition event left in the queue is no error; without this
  // callback librdkafka would print it to stderr as one.
  static void OnError(rd_kafka_t* /*rk*/, int err, const char* reason, void* /*opaque*/) {
    if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    spdlog::warn("kafka consumer: {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                 reason);
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    std::lock_guard<std::mutex> lock(self->mu_);
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && self->drain_ && !self->closed_ &&
        !rd_kafka_assignment_lost(rk) && !self->assigned_.empty()) {
      // Drain (SetDrainOnRevoke): keep the assignment, revoking, until
      // ReleaseRevoking unassigns; librdkafka waits for that call before it
      // rejoins the group.
      self->revoking_ = self->assigned_;
      self->revoking_active_ = true;
      return;
    }
    self->revoking_.clear();
    self->revoking_active_ = false;
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // Lost (session timed out, the group moved on without this member):
      // other members may own the partitions already.
      auto& into = rd_kafka_assignment_lost(rk) ? self->lost_ : self->revoked_;
      into.insert(self->assigned_.begin(), self->assigned_.end());
    }
    // Eager protocol: every assignment is the whole new one, and what a
    // member knew of a partition it had before starts over.
    self->assigned_.clear();
    self->owned_.clear();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        TopicPartition tp{parts->elems[i].topic, parts->elems[i].partition};
        self->assigned_.insert(tp);
        self->owned_[tp] = OwnedOffsets{};
      }
      // Every rebalance revokes everything first; what did not come back
      // went to another member.
      for (const auto& tp : self->revoked_) {
        if (!self->assigned_.count(tp)) self->lost_.insert(tp);
      }
      self->revoked_.clear();
      rd_kafka_assign(rk, parts);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  // ReadyNotifier (common/queue_ready.h): librdkafka calls OnQueueEvent when
  // this consumer's queue goes from empty to not empty - fetched records, and
  // also a rebalance or an error for Poll to serve. Once it has been polled
  // empty the next arrival calls again; records left in it (Poll's
  // max_records) call no more until then.
  void SetReadyCallback(std::function<void()> ready) override {
    {
      std::lock_guard<std::mutex> lock(ready_hook_->mu);
      ready_hook_->ready = std::move(ready);
    }
    // Not under the hook's mutex: librdkafka calls OnQueueEvent holding its
    // queue lock, and enabling takes that lock.
    if (closed_ || rk_ == nullptr || events_enabled_.exchange(true)) return;
    consumer_queue_ = rd_kafka_queue_get_consumer(rk_);
    if (consumer_queue_ == nullptr) return;  // no group: never (Open sets group.id)
    rd_kafka_queue_cb_event_enable(consumer_queue_, &KafkaConsumer::OnQueueEvent,
                                   ready_hook_.get());
  }

  // A librdkafka thread, the consumer queue's lock held: quick, no librdkafka call.
  static void OnQueueEvent(rd_kafka_t* /*rk*/, void* opaque) {
    auto* hook = static_cast<ReadyHook*>(opaque);
    std::lock_guard<std::mutex> lock(hook->mu);
    if (hook->ready) hook->ready();
  }

  Result<std::vector<Record>> Poll(size_t max_records,
                                   std::chrono::milliseconds timeout) override {
    std::vector<Record> out;
    if (closed_) return MakeError(ErrorCode::kCancelled, "queue consumer is closed");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // Until the local queue was found empty once: an event (end of a
    // partition, an error) is no reason to stop, or records behind it would
    // stay there and, with the ready callback, raise no new event.
    bool polled_once = false;
    while (out.size() < max_records) {
      if (wakeup_.exchange(false)) break;
      int wait_ms = 0;
      if (out.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        // A zero timeout still polls once: that is also what serves group
        // membership and rebalances.
        if (left.count() <= 0 && polled_once) break;
        wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 100));
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
      if (!m) {
        polled_once = true;
        if (!out.empty()) break;
        continue;
      }
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          spdlog::warn("kafka consumer: {}", rd_kafka_message_errstr(m));
        } else {
          NoteStart(m);  // nothing to read: it started at the end
        }
        rd_kafka_message_destroy(m);
        continue;
      }
      NoteStart(m);
      // A revoking partition's records are its next owner's.
      if (!revoking_active_ || !IsRevoking(m)) out.push_back(ToRecord(m));
      rd_kafka_message_destroy(m);
    }
    PublishEnds();
    return out;
  }

  Status Commit(const TopicPartition& tp, int64_t next_offset) override {
    return std::move(CommitMany({{tp, next_offset}})[0]);
  }

  std::vector<Status> CommitMany(const std::vector<OffsetCommit>& commits) override {
    std::vector<Status> out(commits.size(), OkStatus());
    if (closed_) {
      for (auto& s : out) s = MakeError(ErrorCode::kCancelled, "queue consumer is closed");
      return out;
    }
    // One entry per owned partition (the highest offset named for it); the
    // others are refused as Commit refuses them.
    std::map<std::pair<std::string, int32_t>, int64_t> send;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < commits.size(); ++i) {
        const auto& [tp, next] = commits[i];
        if (!assigned_.count(tp)) {
          out[i] = MakeError(ErrorCode::kPermissionDenied,
                             "partition " + tp.topic + "/" + std::to_string(tp.partition) +
                                 " was rebalanced to another consumer");
          continue;
        }
        auto [it, fresh] = send.try_emplace({tp.topic, tp.partition}, next);
        if (!fresh) it->second = std::max(it->second, next);
      }
    }
    if (send.empty()) return out;
    // Not rd_kafka_commit(sync): it waits for the group coordinator without
    // bound when the broker is gone, blocking the caller's loop and its
    // shutdown. The result comes through a queue we wait on for at most
    // close_timeout; unconfirmed, the commit may still land later (or not:
    // the records are then read again, never lost).
    auto* l = rd_kafka_topic_partition_list_new(static_cast<int>(send.size()));
    for (const auto& [key, next] : send) {
      rd_kafka_topic_partition_list_add(l, key.first.c_str(), key.second)->offset = next;
    }
    std::map<std::pair<std::string, int32_t>, rd_kafka_resp_err_t> errors;  // per partition
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk_, l, q, nullptr, nullptr);
    rd_kafka_topic_partition_list_destroy(l);
    if (!err) {
      rd_kafka_event_t* ev =
          rd_kafka_queue_poll(q, static_cast<int>(impl_->options().close_timeout.count()));
      if (ev == nullptr) {
        err = RD_KAFKA_RESP_ERR__TIMED_OUT;
      } else {
        err = rd_kafka_event_error(ev);
        if (const auto* done = rd_kafka_event_topic_partition_list(ev)) {
          for (int i = 0; i < done->cnt; ++i) {
            if (done->elems[i].err) {
              errors[{done->elems[i].topic, done->elems[i].partition}] = done->elems[i].err;
            }
          }
        }
        rd_kafka_event_destroy(ev);
      }
    }
    rd_kafka_queue_destroy(q);
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < commits.size(); ++i) {
      if (!out[i].ok()) continue;
      const auto& [tp, next] = commits[i];
      auto e = errors.find({tp.topic, tp.partition});
      const rd_kafka_resp_err_t why = err ? err : (e != errors.end() ? e->second : err);
      if (why) {
        out[i] = KafkaError(why, "kafka commit " + tp.topic);
      } else if (auto it = owned_.find(tp); it != owned_.end()) {
        it->second.committed = std::max(it->second.committed, next);
      }
    }
    return out;
  }

  void Pause(const TopicPartition& tp) override {
    if (closed_) return;
    auto* l = ListOf(tp, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_pause_partitions(rk_, l);
    rd_kafka_topic_partition_list_destroy(l);
  }
  void Resume(const TopicPartition& tp) override {
    if (closed_) return;
    auto* l = ListOf(tp, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_resume_partitions(rk_, l);
    rd_kafka_topic_partition_list_destroy(l);
  }

  Status Seek(const TopicPartition& tp, int64_t offset) override {
    if (closed_) return MakeError(ErrorCode::kCancelled, "queue consumer is closed");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!assigned_.count(tp)) {
        return MakeError(ErrorCode::kPermissionDenied, "seek on a partition this consumer does not own");
      }
    }
    auto* l = ListOf(tp, offset);
    rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, l, 5000);
    rd_kafka_resp_err_t err = e ? rd_kafka_error_code(e) : l->elems[0].err;
    if (e) rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) return KafkaError(err, "kafka seek " + tp.topic);
    return OkStatus();
  }

  std::vector<TopicPartition> Assignment() override {
    std::lock_guard<std::mutex> lock(mu_);
    return {assigned_.begin(), assigned_.end()};
  }

  std::vector<TopicPartition> TakeLostPartitions() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<TopicPartition> out(lost_.begin(), lost_.end());
    lost_.clear();
    return out;
  }

  void SetDrainOnRevoke(bool drain) override { drain_ = drain; }

  std::vector<TopicPartition> RevokingPartitions() override {
    std::lock_guard<std::mutex> lock(mu_);
    return {revoking_.begin(), revoking_.end()};
  }

  // What OnRebalance left undone: everything this member had is revoked,
  // and the unassign lets the group's rebalance go on.
  void ReleaseRevoking() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (revoking_.empty() || rk_ == nullptr) return;
      revoked_.insert(assigned_.begin(), assigned_.end());
      assigned_.clear();
      owned_.clear();
      revoking_.clear();
      revoking_active_ = false;
    }
    if (rd_kafka_resp_err_t e = rd_kafka_assign(rk_, nullptr)) {
      spdlog::warn("kafka consumer: unassign after draining: {}", rd_kafka_err2str(e));
    }
  }

  Result<std::vector<PartitionLag>> Lag() override {
    if (closed_) return MakeError(ErrorCode::kCancelled, "queue consumer is closed");
    std::vector<PartitionLag> out;
    auto* l = rd_kafka_topic_partition_list_new(8);
    for (const auto& t : topics_) {
      SG_ASSIGN_OR_RETURN(int32_t n, impl_->Partitions(t));
      for (int32_t p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(l, t.c_str(), p);
    }
    // Short timeouts, and the first failure ends it: with the brokers down
    // a lag report must not hold up a shutdown.
    rd_kafka_resp_err_t err = rd_kafka_committed(rk_, l, 2000);
    if (err) {
      rd_kafka_topic_partition_list_destroy(l);
      return KafkaError(err, "kafka committed offsets");
    }
    for (int i = 0; i < l->cnt; ++i) {
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(
          rk_, l->elems[i].topic, l->elems[i].partition, &low, &high, 1000);
      if (we) {
        rd_kafka_topic_partition_list_destroy(l);
        return KafkaError(we, "kafka watermark offsets");
      }
      PartitionLag lag;
      lag.tp = {l->elems[i].topic, l->elems[i].partition};
      lag.end = high;
      lag.committed = l->elems[i].offset >= 0 ? l->elems[i].offset : low;
      out.push_back(lag);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return out;
  }

  std::vector<PartitionLag> OwnedLag() override {
    std::vector<PartitionLag> out;
    if (closed_) return out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [tp, o] : owned_) {
      const int64_t committed = std::max(o.start, o.committed);
      if (o.end < 0 || committed < 0) continue;  // not known yet
      PartitionLag l;
      l.tp = tp;
      l.committed = committed;
      l.end = o.end;
      out.push_back(l);
    }
    return out;
  }

  void Wakeup() override { wakeup_ = true; }

  // Leaves the group (committing nothing: commits are explicit) within
  // options().close_timeout. rd_kafka_consumer_close() waits for the group
  // coordinator, with no bound when it is unreachable: close through a queue
  // instead, serve it until closed or the time is up, then destroy without a
  // second close. A consumer that could not leave is dropped from the group
  // by the broker after session.timeout; nothing uncommitted is lost.
  //
  // Records fetched and not yet polled (Poll's max_records: egress at
  // max_inflight leaves them) are dropped uncommitted here; the partitions'
  // next owner reads them again.
  void Close() override {
    if (closed_.exchange(true) || !rk_) return;
    if (consumer_queue_ != nullptr) {
      // After this returns librdkafka calls the hook no more.
      rd_kafka_queue_cb_event_enable(consumer_queue_, nullptr, nullptr);
      rd_kafka_queue_destroy(consumer_queue_);
      consumer_queue_ = nullptr;
    }
    ReleaseRevoking();  // a rebalance waiting for this member goes on
    {
      std::lock_guard<std::mutex> lock(mu_);
      owned_.clear();
    }
    const auto timeout = impl_->options().close_timeout;
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
    if (rd_kafka_error_t* error = rd_kafka_consumer_close_queue(rk_, q)) {
      spdlog::warn("kafka consumer close: {}", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    } else {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (!rd_kafka_consumer_closed(rk_)) {
        if (std::chrono::steady_clock::now() >= deadline) {
          spdlog::warn("kafka consumer close: not done after {} ms (broker unreachable?); "
                       "closing anyway, the group drops this member after its session timeout",
                       timeout.count());
          break;
        }
        // rd_kafka_consumer_close_queue forwards the consumer queue to q,
        // moving the records fetched and not yet polled there too. Served as
        // callbacks (rd_kafka_queue_poll_callback) such a record aborts
        // librdkafka 2.0.2 ("rd_kafka_q_serve: assert: res !=
        // RD_KAFKA_OP_RES_PASS": a fetched record has no callback without a
        // consume_cb). Consuming q runs the rebalance (revoke) and error
        // callbacks, as rd_kafka_consumer_close does, and returns records
        // and consumer errors: dropped, nothing stored or committed.
        if (rd_kafka_message_t* m = rd_kafka_consume_queue(q, 50)) rd_kafka_message_destroy(m);
      }
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rk_ = nullptr;
  }

 private:
  // What this member knows of an owned partition; -1: not yet.
  struct OwnedOffsets {
    int64_t start = -1;      // offset of the first record or end event since the assignment
    int64_t committed = -1;  // the highest offset this member committed
    int64_t end = -1;        // high watermark of the last fetch response
  };

  // Polling thread: the first record (or end-of-partition event) of an
  // owned partition since its assignment says where reading started: the
  // group's committed offset then (or the reset point).
  void NoteStart(const rd_kafka_message_t* m) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = owned_.find({rd_kafka_topic_name(m->rkt), m->partition});
    if (it != owned_.end() && it->second.start < 0 && m->offset >= 0) it->second.start = m->offset;
  }

  bool IsRevoking(const rd_kafka_message_t* m) {
    std::lock_guard<std::mutex> lock(mu_);
    return revoking_.count({rd_kafka_topic_name(m->rkt), m->partition}) > 0;
  }

  // Polling thread: the owned partitions' high watermarks as the last fetch
  // responses left them in librdkafka's local state (no request is sent).
  void PublishEnds() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [tp, o] : owned_) {
      int64_t low = 0, high = 0;
      if (rd_kafka_get_watermark_offsets(rk_, tp.topic.c_str(), tp.partition, &low, &high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          high >= 0) {
        o.end = high;
      }
    }
  }

  std::shared_ptr<KafkaQueueImpl> impl_;
  std::vector<std::string> topics_;
  rd_kafka_t* rk_ = nullptr;
  std::mutex mu_;
  std::set<TopicPartition, TpLess> assigned_;
  std::set<TopicPartition, TpLess> revoked_;  // revoked, not yet assigned again
  std::set<TopicPartition, TpLess> lost_;     // for TakeLostPartitions
  std::set<TopicPartition, TpLess> revoking_;  // SetDrainOnRevoke: not yet unassigned
  std::atomic<bool> revoking_active_{false};   // !revoking_.empty(), read without mu_
  std::atomic<bool> drain_{false};
  std::map<TopicPartition, OwnedOffsets, TpLess> owned_;  // published for OwnedLag
  std::atomic<bool> wakeup_{false};
  std::atomic<bool> closed_{false};
  // ReadyNotifier: the hook outlives every call of it (disabled in Close).
  std::unique_ptr<ReadyHook> ready_hook_ = std::make_unique<ReadyHook>();
  std::atomic<bool> events_enabled_{false};
  rd_kafka_queue_t* consumer_queue_ = nullptr;  // set once by SetReadyCallback
};

}  // namespace

KafkaQueue::KafkaQueue(std::shared_ptr<KafkaQueueImpl> impl) : impl_(std::move(impl)) {}
KafkaQueue::~KafkaQueue() = default;

Result<std::unique_ptr<KafkaQueue>> KafkaQueue::Open(const KafkaQueueOptions& options) {
  if (options.brokers.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config queue.kafka.brokers: required for queue.type kafka");
  }
  SG_RETURN_IF_ERROR(CheckKafkaProperties(options.properties));
  auto impl = std::make_shared<KafkaQueueImpl>(options);
  SG_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<KafkaQueue>(new KafkaQueue(std::move(impl)));
}

Status KafkaQueue::EnsureTopics(const std::vector<TopicSpec>& topics) {
  return impl_->EnsureTopics(topics);
}

std::vector<std::pair<std::string, std::string>> KafkaTopicConfig(const TopicSpec& spec) {
  if (!spec.retention) return {};
  const Retention& r = *spec.retention;
  return {{"cleanup.policy", "delete"},
          {"retention.ms", r.max_age.count() > 0 ? std::to_string(r.max_age.count()) : "-1"},
          {"retention.bytes", r.max_bytes > 0 ? std::to_string(r.max_bytes) : "-1"}};
}

Result<int32_t> KafkaQueue::PartitionCount(const std::string& topic) {
  return impl_->Partitions(topic);
}

Result<OffsetRange> KafkaQueue::Offsets(const TopicPartition& tp) { return impl_->Offsets(tp); }

Result<std::vector<Record>> KafkaQueue::ReadRange(const TopicPartition& tp, int64_t from,
                                                  size_t max_records) {
  SG_ASSIGN_OR_RETURN(OffsetRange range, impl_->Offsets(tp));
  std::vector<Record> out;
  from = std::max(from, range.low);
  if (from >= range.high || max_records == 0) return out;
  // A consumer of its own that joins no group: assign, read, close.
  SG_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, BaseConf(impl_->options()));
  char err[512];
  if (rd_kafka_conf_set(conf, "group.id", "smimegate-admin-reader", err, sizeof(err)) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return MakeError(ErrorCode::kInvalidArgument, std::string("queue.kafka reader: ") + err);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) return MakeError(ErrorCode::kInvalidArgument, std::string("queue.kafka reader: ") + err);
  auto* list = ListOf(tp, from);
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  Status status = e ? Status(KafkaError(e, "kafka assign " + tp.topic)) : OkStatus();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (status.ok() && out.size() < max_records && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        status = KafkaError(m->err, "kafka read " + tp.topic);
      }
      rd_kafka_message_destroy(m);
      if (!status.ok() || out.empty() || out.back().offset + 1 >= range.high) break;
      continue;
    }
    out.push_back(ToRecord(m));
    rd_kafka_message_destroy(m);
    if (out.back().offset + 1 >= range.high) break;
  }
  // Assigned, never subscribed: no group to leave, closing cannot block.
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!status.ok()) return status.error();
  if (out.empty()) {
    return MakeError(ErrorCode::kTimeout, "kafka read " + tp.topic + ": nothing arrived in 10 s");
  }
  return out;
}

Result<Record> KafkaQueue::ReadRecord(const RecordRef& ref) { return impl_->ReadRecord(ref); }

ReferenceTerms KafkaQueue::ReferenceTermsFor(const std::string& topic) {
  return impl_->ReferenceTermsFor(topic);
}

Status KafkaQueue::DeleteBefore(const TopicPartition& tp, int64_t offset) {
  SG_ASSIGN_OR_RETURN(OffsetRange range, impl_->Offsets(tp));
  return impl_->DeleteBefore(tp, std::min(offset, range.high));
}

Result<std::unique_ptr<Producer>> KafkaQueue::CreateProducer() {
  return std::unique_ptr<Producer>(new KafkaProducer(impl_));
}

Result<std::unique_ptr<Consumer>> KafkaQueue::CreateConsumer(
    const std::string& group, const std::vector<std::string>& topics) {
  SG_ASSIGN_OR_RETURN(std::string instance_id, impl_->NextInstanceId(group));
  auto c = std::make_unique<KafkaConsumer>(impl_, topics);
  SG_RETURN_IF_ERROR(c->Open(group, instance_id));
  if (!instance_id.empty()) {
    spdlog::info("kafka consumer of group {} joins as static member {}", group, instance_id);
  }
  return std::unique_ptr<Consumer>(std::move(c));
}

}  // namespace sg::queue
