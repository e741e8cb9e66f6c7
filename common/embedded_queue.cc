#include "common/embedded_queue.h"
#include "common/big_endian.h"
#include "common/embedded_queue_pins.h"
#include "common/embedded_queue_retention.h"
#include "common/queue_ready.h"
#include "common/thread_name.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace sg::queue {

namespace {

std::string PartitionPrefix(const std::string& topic, int32_t partition) {
  std::string k = topic;
  k.push_back('\0');
  PutU32BE(k, static_cast<uint32_t>(partition));
  return k;
}
std::string RecordKey(const std::string& topic, int32_t partition, int64_t offset) {
  std::string k = PartitionPrefix(topic, partition);
  PutU64BE(k, static_cast<uint64_t>(offset));
  return k;
}
std::string TopicMetaKey(const std::string& topic) { return std::string("t\0", 2) + topic; }
std::string CommitKey(const std::string& group, const std::string& topic, int32_t partition) {
  std::string k("c\0", 2);
  k += group;
  k.push_back('\0');
  k += topic;
  k.push_back('\0');
  PutU32BE(k, static_cast<uint32_t>(partition));
  return k;
}

// Value encoding: ts u64 | keylen u32 | key | nheaders u32 | (klen u32 k vlen u32 v)* | value
// Everything of a stored record but its value, which follows it: the value
// goes into the WriteBatch as a second slice, not through a copy.
std::string EncodeRecordPrefix(int64_t ts, const OutRecord& r) {
  std::string out;
  size_t hdr = 0;
  for (const auto& h : r.headers) hdr += 8 + h.key.size() + h.value.size();
  out.reserve(16 + r.key.size() + hdr);
  PutU64BE(out, static_cast<uint64_t>(ts));
  PutU32BE(out, static_cast<uint32_t>(r.key.size()));
  out += r.key;
  PutU32BE(out, static_cast<uint32_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    PutU32BE(out, static_cast<uint32_t>(h.key.size()));
    out += h.key;
    PutU32BE(out, static_cast<uint32_t>(h.value.size()));
    out += h.value;
  }
  return out;
}

bool DecodeRecord(std::string_view in, Record* r) {
  size_t pos = 0;
  auto need = [&](size_t n) { return in.size() - pos >= n; };
  if (!need(12)) return false;
  r->timestamp_ms = static_cast<int64_t>(GetU64BE(in.data()));
  pos = 8;
  uint32_t klen = GetU32BE(in.data() + pos);
  pos += 4;
  if (!need(klen)) return false;
  r->key.assign(in.data() + pos, klen);
  pos += klen;
  if (!need(4)) return false;
  uint32_t nh = GetU32BE(in.data() + pos);
  pos += 4;
  r->headers.clear();
  for (uint32_t i = 0; i < nh; ++i) {
    Header h;
    if (!need(4)) return false;
    uint32_t l = GetU32BE(in.data() + pos);
    pos += 4;
    if (!need(l)) return false;
    h.key.assign(in.data() + pos, l);
    pos += l;
    if (!need(4)) return false;
    l = GetU32BE(in.data() + pos);
    pos += 4;
    if (!need(l)) return false;
    h.value.assign(in.data() + pos, l);
    pos += l;
    r->headers.push_back(std::move(h));
  }
  r->value.assign(in.data() + pos, in.size() - pos);
  return true;
}

constexpr uint8_t kTopicRetained = 1;  // topic meta flag: records in the retained column family

struct TpLess {
  bool operator()(const TopicPartition& a, const TopicPartition& b) const {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  }
};

}  // namespace

class EmbeddedConsumer;

// Shared state of one open database. Producers and consumers hold a
// shared_ptr so the database outlives them.
class EmbeddedQueueImpl : public std::enable_shared_from_this<EmbeddedQueueImpl> {
 public:
  struct Pending {
    OutRecord record;
    ProduceCallback done;
    std::shared_ptr<std::atomic<int64_t>> producer_inflight;
    std::string refused;  // set by the writer: not written, this is why (kNotFound)
  };

  struct Member {
    uint64_t id = 0;
    std::string group;
    std::vector<std::string> topics;
    std::set<TopicPartition, TpLess> assigned;
    std::map<TopicPartition, int64_t, TpLess> position;
    std::set<TopicPartition, TpLess> paused;
    std::set<TopicPartition, TpLess> lost;  // for TakeLostPartitions
    // SetDrainOnRevoke: partitions leaving this member stay in `assigned`
    // and in `revoking` (not read) until ReleaseRevoking.
    bool drain = false;
    std::set<TopicPartition, TpLess> revoking;
    bool wakeup = false;
    size_t rr = 0;  // round-robin start for fairness across partitions
    // SetReadyCallback: called (outside mu_) after a write made records of
    // an owned, unpaused partition readable.
    std::shared_ptr<const std::function<void()>> ready;
    // Poll blocks on this member's own condition variable: the writer wakes
    // only the members owning a written partition. Shared, so a Poll still
    // waiting on it when the member leaves holds it alive.
    std::shared_ptr<std::condition_variable> data_cv = std::make_shared<std::condition_variable>();
  };

  explicit EmbeddedQueueImpl(EmbeddedQueueOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = &SystemClock::Instance();
  }

  ~EmbeddedQueueImpl() { Shutdown(); }

  Status Open() {
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.max_background_jobs = 2;
    db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    db_options.keep_log_file_num = 2;
    rocksdb::ColumnFamilyOptions records_options;
    records_options.write_buffer_size = 64 << 20;
    // Message bodies are large values: keep them in blob files so compaction
    // does not rewrite them, and collect the blobs of deleted records.
    records_options.enable_blob_files = true;
    records_options.min_blob_size = 16 << 10;
    records_options.enable_blob_garbage_collection = true;
    // Records live seconds and S/MIME bodies (base64 of ciphertext) barely
    // compress: snappy at flush was ~9 % of the gateway's CPU relaying 10 KB.
    records_options.compression = rocksdb::kNoCompression;
    rocksdb::ColumnFamilyOptions meta_options;
    // Retained records (dead letters): few, kept for days, deleted for good
    // by compaction - so no blob files, whose garbage outlives a compaction.
    rocksdb::ColumnFamilyOptions retained_options;
    retained_options.compression = rocksdb::kNoCompression;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, meta_options},
        {"records", records_options},
        {"meta", meta_options},
        {"retained", retained_options}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, options_.path, cfs, &handles, &db);
    if (!s.ok()) {
      return MakeError(s.IsCorruption() ? ErrorCode::kCorruption : ErrorCode::kIoError,
                       "queue database " + options_.path + ": " + s.ToString());
    }
    db_.reset(db);
    default_cf_ = handles[0];
    records_cf_ = handles[1];
    meta_cf_ = handles[2];
    retained_cf_ = handles[3];
    SG_RETURN_IF_ERROR(Recover());
    writer_ = std::thread([this] {
      SetCurrentThreadName("sg-queue-write");
      WriterLoop();
    });
    cleaner_ = std::thread([this] {
      SetCurrentThreadName("sg-queue-clean");
      CleanerLoop();
    });
    return OkStatus();
  }

  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    write_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    std::map<std::string, int64_t> commits;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      commits.swap(unwritten_commits_);  // no Commit adds any after closed_
      NotifyAllMembersLocked();
    }
    if (db_ && !commits.empty()) {
      rocksdb::WriteBatch batch;
      PutCommits(commits, batch);
      rocksdb::WriteOptions wo;
      wo.sync = options_.sync;
      if (auto s = db_->Write(wo, &batch); !s.ok()) {
        spdlog::warn("queue: closing {}: the last commits were not written ({}); their records "
                     "will be read again",
                     options_.path, s.ToString());
      }
    }
    {
      std::lock_guard<std::mutex> lock(cleaner_mu_);
      cleaner_stop_ = true;
    }
    cleaner_cv_.notify_all();
    if (cleaner_.joinable()) cleaner_.join();
    if (db_) {
      for (auto* h : {default_cf_, records_cf_, meta_cf_, retained_cf_}) {
        // Shutting down: nothing to do about a handle RocksDB cannot free.
        if (h) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      }
      default_cf_ = records_cf_ = meta_cf_ = retained_cf_ = nullptr;
      db_->Close().PermitUncheckedError();  // the WAL is synced per write already
      db_.reset();
    }
  }

  Status EnsureTopics(const std::vector<TopicSpec>& topics) {
    std::lock_guard<std::mutex> wlock(write_mu_);  // topics change with the writer paused
    std::lock_guard<std::mutex> lock(mu_);
    rocksdb::WriteBatch batch;
    for (const auto& t : topics) {
      if (t.name.empty() || t.name.find('\0') != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument, "queue topic name \"" + t.name +
                                                          "\" is empty or has a NUL byte");
      }
      if (t.partitions < 1 || t.partitions > 4096) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "queue topic " + t.name + ": partitions must be 1..4096");
      }
      auto it = partitions_.find(t.name);
      if (it != partitions_.end()) {
        if (it->second != t.partitions) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "queue topic " + t.name + " exists with " +
                               std::to_string(it->second) + " partitions, config asks for " +
                               std::to_string(t.partitions) +
                               " (the partition count of an existing topic cannot change)");
        }
        if (t.retention && !retained_.count(t.name)) {
          SG_RETURN_IF_ERROR(MoveToRetainedLocked(t.name, t.partitions, batch));
        }
        continue;
      }
      batch.Put(meta_cf_, TopicMetaKey(t.name), TopicMeta(t.partitions, t.retention.has_value()));
    }
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) return MakeError(ErrorCode::kIoError, "queue: creating topics: " + s.ToString());
    for (const auto& t : topics) {
      if (partitions_.emplace(t.name, t.partitions).second) {
        for (int32_t p = 0; p < t.partitions; ++p) {
          next_offset_[{t.name, p}] = 0;
          end_offset_[{t.name, p}] = 0;
        }
      }
      if (t.retention) {
        retained_.insert(t.name);
        retention_[t.name] = *t.retention;
      } else {
        retention_.erase(t.name);
      }
    }
    return OkStatus();
  }

  static std::string TopicMeta(int32_t partitions, bool retained) {
    std::string v;
    PutU32BE(v, static_cast<uint32_t>(partitions));
    if (retained) v.push_back(static_cast<char>(kTopicRetained));
    return v;
  }

  // A topic created before it had a retention: its records move to the
  // retained column family (in `batch`, written by the caller).
  Status MoveToRetainedLocked(const std::string& topic, int32_t partitions,
                              rocksdb::WriteBatch& batch) {
    for (int32_t p = 0; p < partitions; ++p) {
      const std::string prefix = PartitionPrefix(topic, p);
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_cf_));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        batch.Put(retained_cf_, it->key(), it->value());
        if (it->key().size() == prefix.size() + 8 && it->value().size() >= 8) {
          index_.Add({topic, p}, static_cast<int64_t>(GetU64BE(it->key().data() + prefix.size())),
                     static_cast<int64_t>(GetU64BE(it->value().data())), it->value().size());
        }
      }
      if (!it->status().ok()) {
        return MakeError(ErrorCode::kIoError, "queue: moving " + topic + ": " + it->status().ToString());
      }
      batch.DeleteRange(records_cf_, RecordKey(topic, p, 0), RecordKey(topic, p, INT64_MAX));
    }
    batch.Put(meta_cf_, TopicMetaKey(topic), TopicMeta(partitions, true));
    return OkStatus();
  }

  // The column family holding `topic`'s records (mu_ held).
  rocksdb::ColumnFamilyHandle* CfForLocked(const std::string& topic) const {
    return retained_.count(topic) ? retained_cf_ : records_cf_;
  }

  // --- producing -----------------------------------------------------------

  void Produce(OutRecord record, ProduceCallback done,
               const std::shared_ptr<std::atomic<int64_t>>& inflight) {
    int32_t partitions = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = partitions_.find(record.topic);
      if (it != partitions_.end()) partitions = it->second;
    }
    if (partitions == 0) {
      done(MakeError(ErrorCode::kNotFound, "queue topic " + record.topic + " does not exist"));
      return;
    }
    if (record.partition && (*record.partition < 0 || *record.partition >= partitions)) {
      done(MakeError(ErrorCode::kInvalidArgument,
                     "queue topic " + record.topic + " has no partition " +
                         std::to_string(*record.partition)));
      return;
    }
    if (!record.partition) record.partition = PartitionForKey(record.key, partitions);
    uint64_t size = record.value.size() + record.key.size();
    for (const auto& h : record.headers) size += h.key.size() + h.value.size();
    if (size > options_.max_record_bytes) {
      done(MakeError(ErrorCode::kResourceExhausted,
                     "queue record of " + std::to_string(size) + " bytes exceeds the limit of " +
                         std::to_string(options_.max_record_bytes)));
      return;
    }
    {
      std::unique_lock<std::mutex> lock(write_mu_);
      if (stopping_) {
        lock.unlock();
        done(MakeError(ErrorCode::kCancelled, "queue is closing"));
        return;
      }
      if (!write_error_.empty()) {
        std::string err = write_error_;
        lock.unlock();
        done(MakeError(ErrorCode::kUnavailable, "queue storage failed: " + err));
        return;
      }
      if (pending_bytes_ + size > options_.max_pending_bytes) {
        lock.unlock();
        done(MakeError(ErrorCode::kResourceExhausted,
                       "queue: too much data waiting to be written; try again"));
        return;
      }
      pending_bytes_ += size;
      inflight->fetch_add(1);
      pending_.push_back(Pending{std::move(record), std::move(done), inflight, {}});
    }
    write_cv_.notify_one();
  }

  // Group commit: everything pending goes into one synced WriteBatch.
  void WriterLoop() {
    std::vector<Pending> batch_items;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(write_mu_);
        write_cv_.wait(lock,
                       [this] { return stopping_ || !pending_.empty() || commits_dirty_; });
        if (pending_.empty() && !stopping_) {
          // Woken by commits alone: they wait a moment for records to ride
          // with (under load they always find some), so that a stream of
          // commits does not cost a write and a wake-up each.
          write_cv_.wait_for(lock, kLoneCommitDelay,
                             [this] { return stopping_ || !pending_.empty(); });
        }
        if (pending_.empty() && stopping_) return;  // Shutdown writes the last commits
        commits_dirty_ = false;
        uint64_t bytes = 0;
        while (!pending_.empty() && (batch_items.empty() || bytes < options_.max_batch_bytes)) {
          bytes += pending_.front().record.value.size();
          batch_items.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
        pending_bytes_ -= std::min<uint64_t>(pending_bytes_, bytes);
      }
      WriteBatch(batch_items);
      batch_items.clear();
    }
  }

  void WriteBatch(std::vector<Pending>& items) {
    // Sized up front: a batch of large messages otherwise grows its buffer
    // by doubling (copies and page faults were ~15 % of relaying 1 MB).
    size_t reserve = 64;
    for (const auto& item : items) {
      reserve += 96 + item.record.topic.size() + item.record.key.size() + item.record.value.size();
      for (const auto& h : item.record.headers) reserve += 8 + h.key.size() + h.value.size();
    }
    rocksdb::WriteBatch batch(reserve);
    std::vector<std::shared_ptr<const std::function<void()>>> ready;
    std::vector<std::shared_ptr<std::condition_variable>> wake;
    const int64_t ts = options_.clock->NowMs();
    std::map<TopicPartition, int64_t, TpLess> first_offset;
    std::vector<RecordRef> holders;  // records of this batch that take pins
    // Lock order: pins_mu_ before mu_.
    std::unique_lock<std::mutex> pins_lock(pins_mu_, std::defer_lock);
    if (std::any_of(items.begin(), items.end(),
                    [](const Pending& p) { return !p.record.pins.empty(); })) {
      pins_lock.lock();
    }
    std::map<std::string, int64_t> commits;  // written with this batch
    {
      std::lock_guard<std::mutex> lock(mu_);
      commits.swap(unwritten_commits_);
      if (items.empty() && commits.empty()) return;
      PutCommits(commits, batch);
      for (auto& item : items) {
        TopicPartition tp{item.record.topic, *item.record.partition};
        if (!item.record.pins.empty()) {
          item.refused = UnpinnableLocked(item.record.pins);
          if (!item.refused.empty()) continue;
        }
        if (!first_offset.count(tp)) first_offset[tp] = next_offset_[tp];
        int64_t offset = next_offset_[tp]++;
        const std::string key = RecordKey(tp.topic, tp.partition, offset);
        const std::string prefix = EncodeRecordPrefix(ts, item.record);
        const rocksdb::Slice key_slice(key);
        const rocksdb::Slice value_parts[2] = {rocksdb::Slice(prefix),
                                               rocksdb::Slice(item.record.value)};
        batch.Put(CfForLocked(tp.topic), rocksdb::SliceParts(&key_slice, 1),
                  rocksdb::SliceParts(value_parts, 2));
        if (retained_.count(tp.topic)) {
          index_.Add(tp, offset, ts, prefix.size() + item.record.value.size());
        }
        if (!item.record.pins.empty()) {
          holders.push_back({tp.topic, tp.partition, offset});
          PinLocked(holders.back(), item.record.pins, batch);
        }
      }
    }
    // Not held across the synced write: a pin in memory before its record is
    // durable only keeps a record longer.
    if (pins_lock.owns_lock()) pins_lock.unlock();
    written_since_cleanup_ += reserve;
    if (written_since_cleanup_ > kCleanupEveryBytes) {
      // Trim consumed records before the memtable fills: a record deleted
      // while still in the memtable never reaches a blob or table file
      // (writing 1 MB messages out at flush was ~19 % of relaying them).
      written_since_cleanup_ = 0;
      {
        std::lock_guard<std::mutex> lock(cleaner_mu_);
        cleanup_requested_ = true;
      }
      cleaner_cv_.notify_one();
    }
    rocksdb::WriteOptions wo;
    // Only commits: not synced, like before (a lost commit means redelivery).
    wo.sync = options_.sync && !items.empty();
    rocksdb::Status s = db_->Write(wo, &batch);
    Status result = OkStatus();
    if (!s.ok()) {
      result = MakeError(ErrorCode::kUnavailable, "queue write failed: " + s.ToString());
      spdlog::error("queue: write to {} failed: {}", options_.path, s.ToString());
      if (!holders.empty()) pins_lock.lock();
      std::lock_guard<std::mutex> lock(mu_);
      KeepUnwrittenCommitsLocked(commits);
      for (const auto& [tp, first] : first_offset) {
        next_offset_[tp] = first;  // reuse offsets
        index_.DropFrom(tp, first);
      }
      for (const auto& h : holders) pins_.Remove(h);
      if (pins_lock.owns_lock()) pins_lock.unlock();
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [tp, first] : first_offset) end_offset_[tp] = next_offset_[tp];
      ReadyCallbacksLocked(first_offset, ready, wake);
    }
    if (s.ok() && !first_offset.empty()) {
      for (const auto& cv : wake) cv->notify_all();
      // Before the produce callbacks: a producer that saw its ack knows the
      // readers were told (tests rely on that order).
      for (const auto& r : ready) (*r)();
    }
    for (auto& item : items) {
      if (!item.refused.empty()) {
        item.done(MakeError(ErrorCode::kNotFound, item.refused));
      } else {
        item.done(result);
      }
      item.producer_inflight->fetch_sub(1);
    }
    flush_cv_.notify_all();
  }

  // The commits taken from unwritten_commits_ go into `batch` (mu_ held).
  void PutCommits(const std::map<std::string, int64_t>& commits, rocksdb::WriteBatch& batch) {
    for (const auto& [key, next] : commits) {
      std::string v;
      PutU64BE(v, static_cast<uint64_t>(next));
      batch.Put(meta_cf_, key, v);
    }
  }

  // A write carrying `commits` failed: they wait for the next one, unless a
  // later commit of the same partition replaced them meanwhile (mu_ held).
  void KeepUnwrittenCommitsLocked(const std::map<std::string, int64_t>& commits) {
    for (const auto& [key, next] : commits) {
      auto [it, fresh] = unwritten_commits_.emplace(key, next);
      if (!fresh) it->second = std::max(it->second, next);
    }
  }

  // The ready callbacks and the condition variables of the members that
  // own one of `written`'s partitions and have not paused it (mu_ held),
  // each once. Nobody else is woken: a record of the deliver topic does not
  // wake the workers (they would find nothing and sleep again).
  void ReadyCallbacksLocked(const std::map<TopicPartition, int64_t, TpLess>& written,
                            std::vector<std::shared_ptr<const std::function<void()>>>& out,
                            std::vector<std::shared_ptr<std::condition_variable>>& wake) {
    for (const auto& [id, m] : members_) {
      for (const auto& [tp, first] : written) {
        if (m->assigned.count(tp) && !m->paused.count(tp) && !m->revoking.count(tp)) {
          if (m->ready) out.push_back(m->ready);
          wake.push_back(m->data_cv);
          break;
        }
      }
    }
  }

  // Assignments changed or the queue closes: every blocked Poll looks again
  // (mu_ held).
  void NotifyAllMembersLocked() {
    for (const auto& [id, m] : members_) m->data_cv->notify_all();
  }

  void SetReadyCallback(uint64_t id, std::function<void()> ready) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return;
    it->second->ready =
        ready ? std::make_shared<const std::function<void()>>(std::move(ready)) : nullptr;
  }

  // `holder` (being written in `batch`) pins `pins` (pins_mu_ held): in
  // memory now, on disk in the same WriteBatch as the record, so the pin is
  // exactly as durable as the record holding it.
  void PinLocked(const RecordRef& holder, const std::vector<RecordRef>& pins,
                 rocksdb::WriteBatch& batch) {
    pins_.Add(holder, pins);
    batch.Put(meta_cf_, PinTable::HolderKey(holder), PinTable::EncodeRefs(pins));
  }

  // Why `pins` cannot be taken now, or empty when they can (pins_mu_ and
  // mu_ held): every pinned record must have been written and not be gone.
  std::string UnpinnableLocked(const std::vector<RecordRef>& pins) {
    for (const auto& r : pins) {
      const TopicPartition tp{r.topic, r.partition};
      auto end = end_offset_.find(tp);
      if (end == end_offset_.end() || r.offset < 0 || r.offset >= end->second ||
          !pins_.Pinnable(r)) {
        return "queue: cannot pin " + r.topic + "/" + std::to_string(r.partition) + "@" +
               std::to_string(r.offset) + ": no such record (never written, or already removed)";
      }
    }
    return {};
  }

  Status Flush(const std::shared_ptr<std::atomic<int64_t>>& inflight,
               std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(flush_mu_);
    if (!flush_cv_.wait_for(lock, timeout, [&] { return inflight->load() == 0; })) {
      return MakeError(ErrorCode::kTimeout, "queue flush: records still being written");
    }
    return OkStatus();
  }

  // --- consuming -----------------------------------------------------------

  Result<uint64_t> Join(const std::string& group, const std::vector<std::string>& topics) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : topics) {
      if (!partitions_.count(t)) {
        return MakeError(ErrorCode::kNotFound, "queue topic " + t + " does not exist");
      }
    }
    auto m = std::make_unique<Member>();
    m->id = ++last_member_id_;
    m->group = group;
    m->topics = topics;
    uint64_t id = m->id;
    // Remember the group, so clean-up keeps its backlog while it is away.
    rocksdb::WriteBatch batch;
    for (const auto& t : topics) {
      for (int32_t p = 0; p < partitions_[t]; ++p) {
        auto key = CommitKey(group, t, p);
        if (!committed_.count(key)) {
          committed_[key] = 0;
          std::string v;
          PutU64BE(v, 0);
          batch.Put(meta_cf_, key, v);
        }
      }
    }
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) return MakeError(ErrorCode::kIoError, "queue: joining group: " + s.ToString());
    members_[id] = std::move(m);
    RebalanceLocked(group);
    return id;
  }

  void Leave(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return;
    std::string group = it->second->group;
    it->second->data_cv->notify_all();  // its own Poll, if one waits, ends
    members_.erase(it);
    RebalanceLocked(group);
    NotifyAllMembersLocked();
  }

  // Spreads the partitions of every topic the group reads over its members.
  void RebalanceLocked(const std::string& group) {
    std::vector<Member*> ms;
    for (auto& [id, m] : members_) {
      if (m->group == group) ms.push_back(m.get());
    }
    std::set<std::string> topics;
    for (Member* m : ms) topics.insert(m->topics.begin(), m->topics.end());
    std::map<Member*, std::set<TopicPartition, TpLess>> next;
    for (const auto& t : topics) {
      std::vector<Member*> readers;
      for (Member* m : ms) {
        if (std::find(m->topics.begin(), m->topics.end(), t) != m->topics.end()) {
          readers.push_back(m);
        }
      }
      for (int32_t p = 0; p < partitions_[t]; ++p) {
        next[readers[static_cast<size_t>(p) % readers.size()]].insert({t, p});
      }
    }
    // A partition leaving a member that drains stays with it (revoking)
    // until it lets go; nobody else gets it meanwhile. One that comes back
    // to its member is no longer revoking.
    std::set<TopicPartition, TpLess> held;
    for (Member* m : ms) {
      for (const auto& tp : m->assigned) {
        if (next[m].count(tp)) {
          m->revoking.erase(tp);
        } else if (m->drain) {
          m->revoking.insert(tp);
          held.insert(tp);
        }
      }
    }
    for (Member* m : ms) {
      auto& want = next[m];
      for (auto it = want.begin(); it != want.end();) {
        it = held.count(*it) && !m->revoking.count(*it) ? want.erase(it) : std::next(it);
      }
      want.insert(m->revoking.begin(), m->revoking.end());
      std::map<TopicPartition, int64_t, TpLess> pos;
      for (const auto& tp : want) {
        if (m->assigned.count(tp) && m->position.count(tp)) {
          pos[tp] = m->position[tp];
        } else {
          pos[tp] = committed_[CommitKey(group, tp.topic, tp.partition)];
        }
      }
      for (const auto& tp : m->assigned) {
        if (!want.count(tp)) m->lost.insert(tp);
      }
      m->assigned = want;
      m->position = std::move(pos);
      std::set<TopicPartition, TpLess> still_paused;
      for (const auto& tp : m->paused) {
        if (want.count(tp)) still_paused.insert(tp);
      }
      m->paused = std::move(still_paused);
    }
  }

  Result<std::vector<Record>> Poll(uint64_t id, size_t max_records,
                                   std::chrono::milliseconds timeout) {
    std::vector<Record> out;
    if (max_records == 0) return out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    struct Range {
      TopicPartition tp;
      int64_t from;
      int64_t to;
      rocksdb::ColumnFamilyHandle* cf;
    };
    std::vector<Range> ranges;
    {
      std::unique_lock<std::mutex> lock(mu_);
      std::shared_ptr<std::condition_variable> cv;
      if (auto me = members_.find(id); me != members_.end()) cv = me->second->data_cv;
      while (true) {
        auto it = members_.find(id);
        if (it == members_.end()) {
          return MakeError(ErrorCode::kCancelled, "queue consumer is closed");
        }
        Member& m = *it->second;
        if (closed_) return MakeError(ErrorCode::kCancelled, "queue is closing");
        if (m.wakeup) {
          m.wakeup = false;
          return out;
        }
        std::vector<TopicPartition> tps(m.assigned.begin(), m.assigned.end());
        size_t budget = max_records;
        for (size_t i = 0; i < tps.size() && budget > 0; ++i) {
          const auto& tp = tps[(m.rr + i) % tps.size()];
          if (m.paused.count(tp) || m.revoking.count(tp)) continue;
          int64_t pos = m.position[tp];
          int64_t end = end_offset_[tp];
          if (pos < end) {
            int64_t n = std::min<int64_t>(end - pos, static_cast<int64_t>(budget));
            ranges.push_back({tp, pos, pos + n, CfForLocked(tp.topic)});
            m.position[tp] = pos + n;
            budget -= static_cast<size_t>(n);
          }
        }
        if (!tps.empty()) m.rr = (m.rr + 1) % tps.size();
        if (!ranges.empty()) break;
        if (cv->wait_until(lock, deadline) == std::cv_status::timeout) {
          // One last look after the timeout.
          auto again = members_.find(id);
          if (again == members_.end() || closed_) {
            return MakeError(ErrorCode::kCancelled, "queue consumer is closed");
          }
          bool any = false;
          for (const auto& tp : again->second->assigned) {
            if (!again->second->paused.count(tp) && !again->second->revoking.count(tp) &&
                again->second->position[tp] < end_offset_[tp]) {
              any = true;
            }
          }
          if (!any) return out;
        }
      }
    }
    // Read outside the lock: records below end_offset_ are immutable.
    rocksdb::ReadOptions ro;
    for (const auto& r : ranges) {
      std::unique_ptr<rocksdb::Iterator> iter(db_->NewIterator(ro, r.cf));
      std::string prefix = PartitionPrefix(r.tp.topic, r.tp.partition);
      int64_t expect = r.from;
      for (iter->Seek(RecordKey(r.tp.topic, r.tp.partition, r.from));
           iter->Valid() && expect < r.to; iter->Next()) {
        rocksdb::Slice k = iter->key();
        if (k.size() != prefix.size() + 8 || std::memcmp(k.data(), prefix.data(), prefix.size()) != 0) {
          break;
        }
        int64_t offset = static_cast<int64_t>(GetU64BE(k.data() + prefix.size()));
        if (offset >= r.to) break;
        Record rec;
        rec.topic = r.tp.topic;
        rec.partition = r.tp.partition;
        rec.offset = offset;
        if (!DecodeRecord(std::string_view(iter->value().data(), iter->value().size()), &rec)) {
          return MakeError(ErrorCode::kCorruption,
                           "queue record " + r.tp.topic + "/" + std::to_string(r.tp.partition) +
                               "@" + std::to_string(offset) + " cannot be decoded");
        }
        out.push_back(std::move(rec));
        expect = offset + 1;
      }
      if (!iter->status().ok()) {
        return MakeError(ErrorCode::kIoError, "queue read: " + iter->status().ToString());
      }
    }
    return out;
  }

  Status Commit(uint64_t id, const TopicPartition& tp, int64_t next_offset) {
    std::string key;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return MakeError(ErrorCode::kCancelled, "queue is closing");
      auto it = members_.find(id);
      if (it == members_.end()) return MakeError(ErrorCode::kCancelled, "consumer is closed");
      Member& m = *it->second;
      if (!m.assigned.count(tp)) {
        return MakeError(ErrorCode::kPermissionDenied,
                         "partition " + tp.topic + "/" + std::to_string(tp.partition) +
                             " was rebalanced to another consumer");
      }
      if (next_offset > end_offset_[tp]) {
        return MakeError(ErrorCode::kInvalidArgument, "commit beyond the end of " + tp.topic);
      }
      key = CommitKey(m.group, tp.topic, tp.partition);
      if (next_offset <= committed_[key]) return OkStatus();
      committed_[key] = next_offset;
      unwritten_commits_[key] = next_offset;
    }
    // Written by the writer thread, with the next batch of records (or on
    // its own, unsynced): a RocksDB write here, on the caller's thread (a
    // worker, egress's event loop), waited for the fsync of the batch in
    // progress. Not synced, as before: a lost commit means redelivery, never
    // loss, and the next synced batch carries it to disk anyway.
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      wake = !commits_dirty_;  // else the writer was told and has not taken them yet
      commits_dirty_ = true;
    }
    if (wake) write_cv_.notify_one();
    return OkStatus();
  }

  void SetPaused(uint64_t id, const TopicPartition& tp, bool paused) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return;
    if (paused) it->second->paused.insert(tp);
    else it->second->paused.erase(tp);
    it->second->data_cv->notify_all();
  }

  Status Seek(uint64_t id, const TopicPartition& tp, int64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return MakeError(ErrorCode::kCancelled, "consumer is closed");
    if (!it->second->assigned.count(tp)) {
      return MakeError(ErrorCode::kPermissionDenied, "seek on a partition this consumer does not own");
    }
    it->second->position[tp] = std::max<int64_t>(0, offset);
    return OkStatus();
  }

  std::vector<TopicPartition> Assignment(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return {};
    return {it->second->assigned.begin(), it->second->assigned.end()};
  }

  void SetDrainOnRevoke(uint64_t id, bool drain) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it != members_.end()) it->second->drain = drain;
  }

  std::vector<TopicPartition> Revoking(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return {};
    return {it->second->revoking.begin(), it->second->revoking.end()};
  }

  // The revoking partitions leave the member and go to their new owners,
  // which start at the group's committed offset.
  void ReleaseRevoking(uint64_t id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = members_.find(id);
      if (it == members_.end() || it->second->revoking.empty()) return;
      Member& m = *it->second;
      for (const auto& tp : m.revoking) {
        m.assigned.erase(tp);
        m.position.erase(tp);
        m.paused.erase(tp);
        m.lost.insert(tp);
      }
      m.revoking.clear();
      RebalanceLocked(m.group);
      NotifyAllMembersLocked();
    }
  }

  std::vector<TopicPartition> TakeLost(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return {};
    std::vector<TopicPartition> out(it->second->lost.begin(), it->second->lost.end());
    it->second->lost.clear();
    return out;
  }

  Result<std::vector<PartitionLag>> Lag(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return MakeError(ErrorCode::kCancelled, "consumer is closed");
    std::vector<PartitionLag> out;
    for (const auto& t : it->second->topics) {
      for (int32_t p = 0; p < partitions_[t]; ++p) {
        PartitionLag l;
        l.tp = {t, p};
        l.committed = committed_[CommitKey(it->second->group, t, p)];
        l.end = end_offset_[{t, p}];
        out.push_back(l);
      }
    }
    return out;
  }

  // The partitions `id` owns: the group's commit (this member's own, or the
  // one it started from) against the end, both exact at the call.
  std::vector<PartitionLag> OwnedLag(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return {};
    std::vector<PartitionLag> out;
    for (const auto& tp : it->second->assigned) {
      PartitionLag l;
      l.tp = tp;
      l.committed = committed_[CommitKey(it->second->group, tp.topic, tp.partition)];
      l.end = end_offset_[tp];
      out.push_back(l);
    }
    return out;
  }

  void Wakeup(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return;
    it->second->wakeup = true;
    it->second->data_cv->notify_all();
  }

  // --- clean-up --------------------------------------------------------------

  size_t CleanupOnce() {
    std::vector<std::pair<TopicPartition, int64_t>> trims;    // committed by every group
    std::vector<std::pair<TopicPartition, int64_t>> expired;  // past their topic's retention
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t now = options_.clock->NowMs();
      for (const auto& [topic, parts] : partitions_) {
        if (retained_.count(topic)) {
          auto r = retention_.find(topic);
          for (int32_t p = 0; p < parts && r != retention_.end(); ++p) {
            if (auto upto = index_.TrimPoint({topic, p}, r->second, now)) {
              expired.emplace_back(TopicPartition{topic, p}, *upto);
            }
          }
          continue;  // commits never remove retained records
        }
        for (int32_t p = 0; p < parts; ++p) {
          TopicPartition tp{topic, p};
          int64_t low = LowestCommitLocked(tp);
          if (low > trimmed_[tp]) trims.emplace_back(tp, low);
        }
      }
    }
    size_t n = 0;
    for (const auto& [tp, upto] : trims) {
      rocksdb::Status s = TrimPartition(tp, upto, /*sync=*/false);
      if (s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        trimmed_[tp] = upto;
        ++n;
      } else {
        spdlog::warn("queue: clean-up of {}/{} failed: {}", tp.topic, tp.partition, s.ToString());
      }
    }
    for (const auto& [tp, upto] : expired) {
      auto st = RemoveBefore(tp, upto);
      if (st.ok()) {
        ++n;
      } else {
        spdlog::warn("queue: retention of {}/{}: {}", tp.topic, tp.partition, st.error().message);
      }
    }
    return n;
  }

  // The lowest commit of every group that reads tp, or -1 (mu_ held).
  int64_t LowestCommitLocked(const TopicPartition& tp) const {
    std::string suffix = tp.topic;
    suffix.push_back('\0');
    PutU32BE(suffix, static_cast<uint32_t>(tp.partition));
    int64_t low = -1;
    for (const auto& [key, off] : committed_) {
      if (key.size() > suffix.size() &&
          key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          key[key.size() - suffix.size() - 1] == '\0') {
        low = low < 0 ? off : std::min(low, off);
      }
    }
    return low;
  }

  // Deletes the records of tp before `upto` but the pinned ones, releases
  // the pins those records held, and deletes the records that lose their
  // last pin and lie below their partition's trim: one WriteBatch, so a
  // crash leaves either all of it or none.
  rocksdb::Status TrimPartition(const TopicPartition& tp, int64_t upto, bool sync) {
    std::lock_guard<std::mutex> pins_lock(pins_mu_);
    const PinTable::TrimPlan plan = pins_.PlanTrim(tp, upto);
    rocksdb::WriteBatch batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rocksdb::ColumnFamilyHandle* cf = CfForLocked(tp.topic);
      for (const auto& [from, to] : plan.ranges) {
        batch.DeleteRange(cf, RecordKey(tp.topic, tp.partition, from),
                          RecordKey(tp.topic, tp.partition, to));
      }
      for (const auto& h : plan.holders) batch.Delete(meta_cf_, PinTable::HolderKey(h));
      for (const auto& r : plan.freed) {
        batch.Delete(CfForLocked(r.topic), RecordKey(r.topic, r.partition, r.offset));
      }
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (s.ok()) pins_.ApplyTrim(plan);
    return s;
  }

  // Deletes the records of tp before `upto` for good: a range delete, then
  // (for retained topics) a flush and a forced compaction of that range, so
  // the bytes leave the memtable, the WAL and the table files.
  Status RemoveBefore(const TopicPartition& tp, int64_t upto) {
    rocksdb::ColumnFamilyHandle* cf;
    bool retained;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!partitions_.count(tp.topic) || tp.partition < 0 || tp.partition >= partitions_[tp.topic]) {
        return MakeError(ErrorCode::kNotFound, "queue partition " + tp.topic + "/" +
                                                   std::to_string(tp.partition) + " does not exist");
      }
      upto = std::min(upto, end_offset_[tp]);
      cf = CfForLocked(tp.topic);
      retained = retained_.count(tp.topic) > 0;
    }
    const std::string from = RecordKey(tp.topic, tp.partition, 0);
    const std::string to = RecordKey(tp.topic, tp.partition, upto);
    rocksdb::Status s = TrimPartition(tp, upto, options_.sync);
    if (!s.ok()) return MakeError(ErrorCode::kIoError, "queue delete: " + s.ToString());
    {
      std::lock_guard<std::mutex> lock(mu_);
      trimmed_[tp] = std::max(trimmed_[tp], upto);
      index_.DropBefore(tp, upto);
    }
    if (!retained) return OkStatus();
    rocksdb::FlushOptions fo;
    s = db_->Flush(fo, std::vector<rocksdb::ColumnFamilyHandle*>{default_cf_, records_cf_, meta_cf_, retained_cf_});
    if (s.ok()) {
      rocksdb::CompactRangeOptions co;
      co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      const rocksdb::Slice begin(from), end(to);
      s = db_->CompactRange(co, cf, &begin, &end);
    }
    if (!s.ok()) return MakeError(ErrorCode::kIoError, "queue compaction after delete: " + s.ToString());
    return OkStatus();
  }

  // --- administration --------------------------------------------------------

  Result<int32_t> PartitionCount(const std::string& topic) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(topic);
    if (it == partitions_.end()) {
      return MakeError(ErrorCode::kNotFound, "queue topic " + topic + " does not exist");
    }
    return it->second;
  }

  Result<OffsetRange> Offsets(const TopicPartition& tp) {
    SG_ASSIGN_OR_RETURN(int32_t parts, PartitionCount(tp.topic));
    if (tp.partition < 0 || tp.partition >= parts) {
      return MakeError(ErrorCode::kNotFound, "queue topic " + tp.topic + " has no partition " +
                                                 std::to_string(tp.partition));
    }
    OffsetRange r;
    rocksdb::ColumnFamilyHandle* cf;
    {
      std::lock_guard<std::mutex> lock(mu_);
      r.high = end_offset_[tp];
      cf = CfForLocked(tp.topic);
    }
    r.low = r.high;
    SG_ASSIGN_OR_RETURN(auto first, ReadFrom(cf, tp, 0, r.high, 1));
    if (!first.empty()) r.low = first[0].offset;
    return r;
  }

  Result<std::vector<Record>> ReadRange(const TopicPartition& tp, int64_t from, size_t max) {
    SG_ASSIGN_OR_RETURN(int32_t parts, PartitionCount(tp.topic));
    if (tp.partition < 0 || tp.partition >= parts) {
      return MakeError(ErrorCode::kNotFound, "queue topic " + tp.topic + " has no partition " +
                                                 std::to_string(tp.partition));
    }
    rocksdb::ColumnFamilyHandle* cf;
    int64_t end;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cf = CfForLocked(tp.topic);
      end = end_offset_[tp];
    }
    return ReadFrom(cf, tp, std::max<int64_t>(0, from), end, max);
  }

  // The record at exactly `ref`: one point lookup (Get), not an iterator.
  // An iterator over the records column family fragments every range
  // tombstone the clean-up left in the memtable each time it is created;
  // egress resolves a body reference per relayed message on its loop.
  Result<Record> ReadRecord(const RecordRef& ref) {
    rocksdb::ColumnFamilyHandle* cf;
    int64_t end;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto parts = partitions_.find(ref.topic);
      if (parts == partitions_.end() || ref.partition < 0 || ref.partition >= parts->second) {
        return MakeError(ErrorCode::kNotFound, "queue topic " + ref.topic + " has no partition " +
                                                   std::to_string(ref.partition));
      }
      cf = CfForLocked(ref.topic);
      end = end_offset_[{ref.topic, ref.partition}];
    }
    const std::string name =
        ref.topic + "/" + std::to_string(ref.partition) + "@" + std::to_string(ref.offset);
    if (ref.offset < 0 || ref.offset >= end) {
      return MakeError(ErrorCode::kNotFound, "queue record " + name + " is gone");
    }
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf,
                                 RecordKey(ref.topic, ref.partition, ref.offset), &value);
    if (s.IsNotFound()) return MakeError(ErrorCode::kNotFound, "queue record " + name + " is gone");
    if (!s.ok()) return MakeError(ErrorCode::kIoError, "queue read of " + name + ": " + s.ToString());
    Record rec;
    rec.topic = ref.topic;
    rec.partition = ref.partition;
    rec.offset = ref.offset;
    if (!DecodeRecord(std::string_view(value.data(), value.size()), &rec)) {
      return MakeError(ErrorCode::kCorruption, "queue record " + name + " cannot be decoded");
    }
    return rec;
  }

  // Records of tp in [from, end), at most max, straight from the database.
  Result<std::vector<Record>> ReadFrom(rocksdb::ColumnFamilyHandle* cf, const TopicPartition& tp,
                                       int64_t from, int64_t end, size_t max) {
    std::vector<Record> out;
    std::unique_ptr<rocksdb::Iterator> iter(db_->NewIterator(rocksdb::ReadOptions(), cf));
    const std::string prefix = PartitionPrefix(tp.topic, tp.partition);
    for (iter->Seek(RecordKey(tp.topic, tp.partition, from)); iter->Valid() && out.size() < max;
         iter->Next()) {
      rocksdb::Slice k = iter->key();
      if (k.size() != prefix.size() + 8 || !k.starts_with(prefix)) break;
      Record rec;
      rec.topic = tp.topic;
      rec.partition = tp.partition;
      rec.offset = static_cast<int64_t>(GetU64BE(k.data() + prefix.size()));
      if (rec.offset >= end) break;
      if (!DecodeRecord(std::string_view(iter->value().data(), iter->value().size()), &rec)) {
        return MakeError(ErrorCode::kCorruption, "queue record " + tp.topic + "/" +
                                                     std::to_string(tp.partition) + "@" +
                                                     std::to_string(rec.offset) + " cannot be decoded");
      }
      out.push_back(std::move(rec));
    }
    if (!iter->status().ok()) return MakeError(ErrorCode::kIoError, "queue read: " + iter->status().ToString());
    return out;
  }

  void CleanerLoop() {
    std::unique_lock<std::mutex> lock(cleaner_mu_);
    while (!cleaner_stop_) {
      if (cleaner_cv_.wait_for(lock, options_.cleanup_interval,
                               [this] { return cleaner_stop_ || cleanup_requested_; }) &&
          cleaner_stop_) {
        return;
      }
      cleanup_requested_ = false;
      lock.unlock();
      CleanupOnce();
      lock.lock();
    }
  }

  size_t PinnedRecords(const TopicPartition& tp) {
    std::lock_guard<std::mutex> lock(pins_mu_);
    return pins_.PinnedRecords(tp);
  }

  int64_t StoredRecords(const TopicPartition& tp) {
    rocksdb::ColumnFamilyHandle* cf;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cf = CfForLocked(tp.topic);
    }
    std::unique_ptr<rocksdb::Iterator> iter(db_->NewIterator(rocksdb::ReadOptions(), cf));
    std::string prefix = PartitionPrefix(tp.topic, tp.partition);
    int64_t n = 0;
    for (iter->Seek(prefix); iter->Valid() && iter->key().starts_with(prefix); iter->Next()) ++n;
    return n;
  }

 private:
  // Rebuilds topics, offsets and commits from disk.
  Status Recover() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string k = it->key().ToString();
      std::string v = it->value().ToString();
      if (k.size() > 2 && k[0] == 't' && k[1] == '\0' && (v.size() == 4 || v.size() == 5)) {
        partitions_[k.substr(2)] = static_cast<int32_t>(GetU32BE(v.data()));
        if (v.size() == 5 && (static_cast<uint8_t>(v[4]) & kTopicRetained)) retained_.insert(k.substr(2));
      } else if (k.size() > 2 && k[0] == 'c' && k[1] == '\0' && v.size() == 8) {
        committed_[k] = static_cast<int64_t>(GetU64BE(v.data()));
      } else if (PinTable::IsHolderKey(k) && !pins_.Load(k, v)) {
        spdlog::warn("queue: ignoring a malformed pin entry in {}", options_.path);
      }
    }
    if (!it->status().ok()) {
      return MakeError(ErrorCode::kIoError, "queue recovery: " + it->status().ToString());
    }
    for (const auto& [topic, parts] : partitions_) {
      for (int32_t p = 0; p < parts; ++p) {
        TopicPartition tp{topic, p};
        int64_t next = 0;
        // The last stored record; records below every commit may be gone, so
        // never start below the highest commit either.
        std::unique_ptr<rocksdb::Iterator> ri(
            db_->NewIterator(rocksdb::ReadOptions(), CfForLocked(topic)));
        ri->SeekForPrev(RecordKey(topic, p, INT64_MAX));
        std::string prefix = PartitionPrefix(topic, p);
        if (ri->Valid() && ri->key().starts_with(prefix) && ri->key().size() == prefix.size() + 8) {
          next = static_cast<int64_t>(GetU64BE(ri->key().data() + prefix.size())) + 1;
        }
        std::string suffix = topic;
        suffix.push_back('\0');
        PutU32BE(suffix, static_cast<uint32_t>(p));
        for (const auto& [key, off] : committed_) {
          if (key.size() > suffix.size() &&
              key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
            next = std::max(next, off);
          }
        }
        next_offset_[tp] = next;
        end_offset_[tp] = next;
      }
    }
    return RecoverRetentionIndex();
  }

  // One pass over the retained records: what retention needs to know.
  Status RecoverRetentionIndex() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), retained_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      if (k.size() < 13) continue;
      const size_t nul = k.size() - 13;  // <topic>\0<partition 4><offset 8>
      if (k.data()[nul] != '\0') continue;
      TopicPartition tp{std::string(k.data(), nul), static_cast<int32_t>(GetU32BE(k.data() + nul + 1))};
      const auto offset = static_cast<int64_t>(GetU64BE(k.data() + nul + 5));
      if (it->value().size() < 8) continue;
      index_.Add(tp, offset, static_cast<int64_t>(GetU64BE(it->value().data())), it->value().size());
    }
    if (!it->status().ok()) {
      return MakeError(ErrorCode::kIoError, "queue recovery: " + it->status().ToString());
    }
    return OkStatus();
  }

  EmbeddedQueueOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* retained_cf_ = nullptr;

  // Writer state.
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<Pending> pending_;
  uint64_t pending_bytes_ = 0;
  bool stopping_ = false;
  bool commits_dirty_ = false;  // Commit left work for the writer
  // How long commits alone wait for records to be written with; the most a
  // commit stays in memory only (a crash then means its records come again).
  static constexpr std::chrono::milliseconds kLoneCommitDelay{5};
  std::string write_error_;
  std::thread writer_;
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;

  // Topic, offset and group state.
  std::mutex mu_;
  bool closed_ = false;
  std::map<std::string, int32_t> partitions_;
  std::map<TopicPartition, int64_t, TpLess> next_offset_;  // assigned by the writer
  std::map<TopicPartition, int64_t, TpLess> end_offset_;   // durable and visible
  std::map<TopicPartition, int64_t, TpLess> trimmed_;
  std::map<std::string, int64_t> committed_;  // CommitKey -> next offset
  // Commits not yet handed to RocksDB (a subset of committed_): the writer
  // thread writes them with its next batch (commits_dirty_ wakes it).
  std::map<std::string, int64_t> unwritten_commits_;
  std::set<std::string> retained_;              // topics in retained_cf_ (persisted flag)
  std::map<std::string, Retention> retention_;  // their retention (from EnsureTopics)
  RetentionIndex index_;                        // records of retained topics

  // Pins (common/queue.h): taken by the writer, released by the clean-up.
  // Lock order: pins_mu_ before mu_.
  std::mutex pins_mu_;
  PinTable pins_;
  std::map<uint64_t, std::unique_ptr<Member>> members_;
  uint64_t last_member_id_ = 0;

  std::mutex cleaner_mu_;
  std::condition_variable cleaner_cv_;
  bool cleaner_stop_ = false;  // guarded by cleaner_mu_
  bool cleanup_requested_ = false;  // guarded by cleaner_mu_; set by the writer
  // Bytes the writer thread wrote since it last asked for a clean-up (writer only).
  uint64_t written_since_cleanup_ = 0;
  // A quarter of the records' memtable (write_buffer_size).
  static constexpr uint64_t kCleanupEveryBytes = 16 << 20;
  std::thread cleaner_;
};

namespace {

class EmbeddedProducer : public Producer {
 public:
  explicit EmbeddedProducer(std::shared_ptr<EmbeddedQueueImpl> impl)
      : impl_(std::move(impl)), inflight_(std::make_shared<std::atomic<int64_t>>(0)) {}
  void Produce(OutRecord record, ProduceCallback done) override {
    impl_->Produce(std::move(record), std::move(done), inflight_);
  }
  Status Flush(std::chrono::milliseconds timeout) override {
    return impl_->Flush(inflight_, timeout);
  }

 private:
  std::shared_ptr<EmbeddedQueueImpl> impl_;
  std::shared_ptr<std::atomic<int64_t>> inflight_;
};

class EmbeddedConsumerImpl : public Consumer, public ReadyNotifier {
 public:
  EmbeddedConsumerImpl(std::shared_ptr<EmbeddedQueueImpl> impl, uint64_t id)
      : impl_(std::move(impl)), id_(id) {}
  ~EmbeddedConsumerImpl() override { Close(); }

  Result<std::vector<Record>> Poll(size_t max_records,
                                   std::chrono::milliseconds timeout) override {
    return impl_->Poll(id_, max_records, timeout);
  }
  Status Commit(const TopicPartition& tp, int64_t next_offset) override {
    return impl_->Commit(id_, tp, next_offset);
  }
  void Pause(const TopicPartition& tp) override { impl_->SetPaused(id_, tp, true); }
  void Resume(const TopicPartition& tp) override { impl_->SetPaused(id_, tp, false); }
  Status Seek(const TopicPartition& tp, int64_t offset) override {
    return impl_->Seek(id_, tp, offset);
  }
  std::vector<TopicPartition> Assignment() override { return impl_->Assignment(id_); }
  std::vector<TopicPartition> TakeLostPartitions() override { return impl_->TakeLost(id_); }
  void SetDrainOnRevoke(bool drain) override { impl_->SetDrainOnRevoke(id_, drain); }
  std::vector<TopicPartition> RevokingPartitions() override { return impl_->Revoking(id_); }
  void ReleaseRevoking() override { impl_->ReleaseRevoking(id_); }
  Result<std::vector<PartitionLag>> Lag() override { return impl_->Lag(id_); }
  std::vector<PartitionLag> OwnedLag() override { return impl_->OwnedLag(id_); }
  void Wakeup() override { impl_->Wakeup(id_); }
  void SetReadyCallback(std::function<void()> ready) override {
    impl_->SetReadyCallback(id_, std::move(ready));
  }
  void Close() override {
    if (!closed_.exchange(true)) impl_->Leave(id_);
  }

 private:
  std::shared_ptr<EmbeddedQueueImpl> impl_;
  uint64_t id_;
  std::atomic<bool> closed_{false};
};

}  // namespace

EmbeddedQueue::EmbeddedQueue(std::shared_ptr<EmbeddedQueueImpl> impl) : impl_(std::move(impl)) {}

EmbeddedQueue::~EmbeddedQueue() { impl_->Shutdown(); }

Result<std::unique_ptr<EmbeddedQueue>> EmbeddedQueue::Open(const EmbeddedQueueOptions& options) {
  auto impl = std::make_shared<EmbeddedQueueImpl>(options);
  SG_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<EmbeddedQueue>(new EmbeddedQueue(std::move(impl)));
}

Status EmbeddedQueue::EnsureTopics(const std::vector<TopicSpec>& topics) {
  return impl_->EnsureTopics(topics);
}

Result<std::unique_ptr<Producer>> EmbeddedQueue::CreateProducer() {
  return std::unique_ptr<Producer>(new EmbeddedProducer(impl_));
}

Result<std::unique_ptr<Consumer>> EmbeddedQueue::CreateConsumer(
    const std::string& group, const std::vector<std::string>& topics) {
  SG_ASSIGN_OR_RETURN(uint64_t id, impl_->Join(group, topics));
  return std::unique_ptr<Consumer>(new EmbeddedConsumerImpl(impl_, id));
}

Result<int32_t> EmbeddedQueue::PartitionCount(const std::string& topic) {
  return impl_->PartitionCount(topic);
}

Result<OffsetRange> EmbeddedQueue::Offsets(const TopicPartition& tp) { return impl_->Offsets(tp); }

Result<std::vector<Record>> EmbeddedQueue::ReadRange(const TopicPartition& tp, int64_t from,
                                                     size_t max_records) {
  return impl_->ReadRange(tp, from, max_records);
}

Status EmbeddedQueue::DeleteBefore(const TopicPartition& tp, int64_t offset) {
  return impl_->RemoveBefore(tp, offset);
}

Result<Record> EmbeddedQueue::ReadRecord(const RecordRef& ref) { return impl_->ReadRecord(ref); }

size_t EmbeddedQueue::CleanupNow() { return impl_->CleanupOnce(); }

int64_t EmbeddedQueue::StoredRecords(const TopicPartition& tp) { return impl_->StoredRecords(tp); }
size_t EmbeddedQueue::PinnedRecords(const TopicPartition& tp) { return impl_->PinnedRecords(tp); }

}  // namespace sg::queue
