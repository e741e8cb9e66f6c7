#include "workers/worker_deadletter.h"

#include "common/deadletter.h"
#include "common/mail/dsn.h"
#include "proto/envelope.pb.h"

namespace sg::workers {
namespace v1 = smimegate::v1;

std::vector<queue::Header> DeadLetterHeaders(const std::string& reason,
                                             const std::string& source_topic) {
  return {{std::string(deadletter::kReasonHeader), reason},
          {std::string(deadletter::kSourceTopicHeader), source_topic},
          {std::string(deadletter::kStageHeader), "workers"}};
}

std::vector<queue::OutRecord> GiveUpRecords(const queue::Record& record, const std::string& reason,
                                            bool permanent, const GiveUpContext& context) {
  std::vector<queue::OutRecord> out;
  queue::OutRecord dead;
  dead.topic = context.deadletter_topic;
  dead.key = record.key;
  dead.value = record.value;
  dead.headers = record.headers;
  for (auto& h : DeadLetterHeaders(reason, record.topic)) dead.headers.push_back(std::move(h));
  out.push_back(std::move(dead));

  v1::MessageRecord msg;
  if (!context.tell_sender) return out;
  if (!msg.ParseFromString(record.value) || msg.envelope().mail_from().empty()) return out;
  const std::string status = permanent ? "5.3.0" : "4.3.0";
  const std::string diagnostic =
      std::string(permanent ? "554 " : "451 ") + status +
      " The gateway could not process this message; it was not delivered and is kept for "
      "the administrator (reference " + msg.envelope().message_id() + ")";
  std::vector<mail::FailedRecipient> failed;
  for (const auto& r : msg.envelope().recipients()) {
    if (!mail::WantsFailureDsn(r)) continue;
    mail::FailedRecipient f;
    f.recipient = r;
    f.status = status;
    f.diagnostic = diagnostic;
    failed.push_back(std::move(f));
  }
  if (failed.empty()) return out;
  mail::DsnContext ctx{context.reporting_mta, context.postmaster, context.now_ms};
  v1::MessageRecord dsn = mail::BuildFailureDsn(msg, failed, ctx);
  queue::OutRecord r;
  r.topic = context.deliver_topic;
  r.key = dsn.envelope().message_id();
  r.value = dsn.SerializeAsString();
  out.push_back(std::move(r));
  return out;
}

}  // namespace sg::workers
