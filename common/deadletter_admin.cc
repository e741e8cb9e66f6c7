#include "common/deadletter_admin.h"

#include <charconv>
#include <future>

#include "common/deadletter.h"
#include "common/topics.h"
#include "proto/envelope.pb.h"

namespace sg::deadletter {
namespace v1 = smimegate::v1;
namespace {

std::string HeaderOr(const queue::Record& r, std::string_view key, std::string_view legacy) {
  if (auto v = r.FindHeader(key)) return std::string(*v);
  if (auto v = r.FindHeader(legacy)) return std::string(*v);  // written before the sg- names
  return "";
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::string Id::ToString() const { return std::to_string(partition) + ":" + std::to_string(offset); }

Result<Id> Id::Parse(const std::string& text) {
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "dead letter id \"" + text + "\": expected <partition>:<offset> or <offset>");
  };
  Id id;
  const auto colon = text.find(':');
  const std::string part = colon == std::string::npos ? "" : text.substr(0, colon);
  const std::string off = colon == std::string::npos ? text : text.substr(colon + 1);
  if (!part.empty()) {
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), id.partition);
    if (ec != std::errc() || p != part.data() + part.size() || id.partition < 0) return bad();
  } else if (colon != std::string::npos) {
    return bad();
  }
  auto [p, ec] = std::from_chars(off.data(), off.data() + off.size(), id.offset);
  if (off.empty() || ec != std::errc() || p != off.data() + off.size() || id.offset < 0) return bad();
  return id;
}

Entry EntryOf(const queue::Record& record, bool whole) {
  Entry e;
  e.id = {record.partition, record.offset};
  e.timestamp_ms = record.timestamp_ms;
  e.key = record.key;
  e.reason = HeaderOr(record, kReasonHeader, "reason");
  e.source_topic = HeaderOr(record, kSourceTopicHeader, "source_topic");
  e.stage = HeaderOr(record, kStageHeader, "stage");
  v1::MessageRecord rec;
  if (rec.ParseFromString(record.value)) {
    e.mail_from = rec.envelope().mail_from();
    for (const auto& r : rec.envelope().recipients()) e.recipients.push_back(r.address());
    e.message_bytes = rec.message().size();
  }
  if (whole) {
    e.headers = record.headers;
    e.value = record.value;
  }
  return e;
}

QueueDeadLetters::QueueDeadLetters(queue::Queue& queue, std::string topic_prefix,
                                   const Clock* clock)
    : queue_(queue),
      prefix_(std::move(topic_prefix)),
      topic_(topics::Name(prefix_, topics::kDeadLetter)),
      clock_(clock != nullptr ? *clock : SystemClock::Instance()) {}

Result<ListResult> QueueDeadLetters::List(const ListOptions& options) {
  SG_ASSIGN_OR_RETURN(int32_t parts, queue_.PartitionCount(topic_));
  ListResult out;
  for (int32_t p = 0; p < parts; ++p) {
    const queue::TopicPartition tp{topic_, p};
    SG_ASSIGN_OR_RETURN(queue::OffsetRange range, queue_.Offsets(tp));
    out.held += static_cast<uint64_t>(range.high - range.low);
    if (options.from && options.from->partition != p) continue;
    const int64_t from = options.from ? options.from->offset : range.low;
    const size_t room = options.limit > out.entries.size() ? options.limit - out.entries.size() : 0;
    if (room == 0 || from >= range.high) continue;
    SG_ASSIGN_OR_RETURN(auto records, queue_.ReadRange(tp, from, room));
    for (const auto& r : records) out.entries.push_back(EntryOf(r, false));
  }
  return out;
}

Result<queue::Record> QueueDeadLetters::Read(const Id& id) {
  const queue::TopicPartition tp{topic_, id.partition};
  SG_ASSIGN_OR_RETURN(queue::OffsetRange range, queue_.Offsets(tp));
  if (id.offset < range.low || id.offset >= range.high) {
    return MakeError(ErrorCode::kNotFound, "no dead letter " + id.ToString() + " (held: " +
                                               std::to_string(id.partition) + ":" +
                                               std::to_string(range.low) + " to " +
                                               std::to_string(id.partition) + ":" +
                                               std::to_string(range.high - 1) + ")");
  }
  SG_ASSIGN_OR_RETURN(auto records, queue_.ReadRange(tp, id.offset, 1));
  if (records.empty() || records[0].offset != id.offset) {
    return MakeError(ErrorCode::kNotFound, "no dead letter " + id.ToString());
  }
  return std::move(records[0]);
}

Result<Entry> QueueDeadLetters::Show(const Id& id) {
  SG_ASSIGN_OR_RETURN(queue::Record r, Read(id));
  return EntryOf(r, true);
}

Result<queue::OutRecord> QueueDeadLetters::ReplayRecord(const queue::Record& record) const {
  const Entry e = EntryOf(record, false);
  std::string target = e.source_topic;
  const std::string retry = topics::Name(prefix_, topics::kRetry);
  if (target == retry) target = topics::Name(prefix_, topics::kDeliver);  // due now, not later
  bool known = false;
  for (auto t : {topics::kInbound, topics::kOutbound, topics::kDeliver}) {
    known = known || target == topics::Name(prefix_, t);
  }
  if (!known) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "dead letter " + e.id.ToString() + " came from \"" + e.source_topic +
                         "\", not a topic it can be replayed onto");
  }
  queue::OutRecord out;
  out.topic = target;
  out.key = record.key;
  for (const auto& h : record.headers) {
    if (!StartsWith(h.key, "sg-") && h.key != "reason" && h.key != "source_topic" && h.key != "stage") {
      out.headers.push_back(h);
    }
  }
  out.headers.push_back({"sg-replayed", topic_ + "@" + e.id.ToString()});
  v1::MessageRecord rec;
  if (rec.ParseFromString(record.value)) {
    rec.clear_delivery();  // a fresh first attempt
    out.value = rec.SerializeAsString();
  } else {
    out.value = record.value;
  }
  return out;
}

Result<std::string> QueueDeadLetters::Replay(const Id& id) {
  SG_ASSIGN_OR_RETURN(queue::Record r, Read(id));
  SG_ASSIGN_OR_RETURN(queue::OutRecord out, ReplayRecord(r));
  const std::string topic = out.topic;
  SG_ASSIGN_OR_RETURN(auto producer, queue_.CreateProducer());
  std::promise<Status> done;
  producer->Produce(std::move(out), [&done](Status st) { done.set_value(std::move(st)); });
  SG_RETURN_IF_ERROR(done.get_future().get());
  return topic;
}

Result<int64_t> QueueDeadLetters::FirstNotOlderThan(const queue::TopicPartition& tp,
                                                    int64_t cutoff_ms) {
  SG_ASSIGN_OR_RETURN(queue::OffsetRange range, queue_.Offsets(tp));
  int64_t at = range.low;
  while (at < range.high) {
    SG_ASSIGN_OR_RETURN(auto records, queue_.ReadRange(tp, at, 1000));
    if (records.empty()) break;
    for (const auto& r : records) {
      if (r.timestamp_ms >= cutoff_ms) return r.offset;
    }
    at = records.back().offset + 1;
  }
  return range.high;
}

Result<uint64_t> QueueDeadLetters::Purge(const PurgeRequest& request) {
  const int given = (request.all ? 1 : 0) + (request.before ? 1 : 0) + (request.older_than ? 1 : 0);
  if (given != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "purge wants exactly one of: all, before an id, older than an age");
  }
  SG_ASSIGN_OR_RETURN(int32_t parts, queue_.PartitionCount(topic_));
  uint64_t removed = 0;
  for (int32_t p = 0; p < parts; ++p) {
    const queue::TopicPartition tp{topic_, p};
    SG_ASSIGN_OR_RETURN(queue::OffsetRange range, queue_.Offsets(tp));
    int64_t upto = range.high;
    if (request.before) {
      if (request.before->partition != p) continue;
      upto = std::min(request.before->offset, range.high);
    } else if (request.older_than) {
      SG_ASSIGN_OR_RETURN(upto, FirstNotOlderThan(tp, clock_.NowMs() - request.older_than->count()));
    }
    if (upto <= range.low) continue;
    SG_RETURN_IF_ERROR(queue_.DeleteBefore(tp, upto));
    removed += static_cast<uint64_t>(upto - range.low);
  }
  return removed;
}

}  // namespace sg::deadletter
