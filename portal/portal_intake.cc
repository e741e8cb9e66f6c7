#include "portal/portal_intake.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "portal/portal_mime.h"

namespace sg::portal {
namespace v1 = smimegate::v1;

Status Intake::Handle(const v1::MessageRecord& record) {
  const auto& env = record.envelope();
  if (env.message_id().empty() || env.recipients_size() == 0 || record.message().empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "portal record without message id, recipients or message");
  }
  for (const auto& r : env.recipients()) {
    const std::string recipient = NormalizeRecipient(r.address());
    if (recipient.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "portal record recipient \"" + r.address() + "\" is not an address");
    }
    SG_RETURN_IF_ERROR(HandleRecipient(record, recipient));
  }
  return OkStatus();
}

Status Intake::HandleRecipient(const v1::MessageRecord& record, const std::string& recipient) {
  const auto& env = record.envelope();
  IncomingMessage in;
  in.source_key = env.message_id() + "/" + recipient;
  in.queue_message_id = env.message_id();
  in.recipient = recipient;
  in.sender = NormalizeRecipient(env.mail_from());
  in.sender_domain = mail::DomainOf(env.mail_from());
  const DomainSettings& settings = config_.For(in.sender_domain);
  in.expires_at_ms = clock_.NowMs() + settings.retention.count();
  in.content = record.message();
  ParsedMessage parsed = ParseForPortal(in.content);
  in.summary = parsed.summary;
  SG_ASSIGN_OR_RETURN(PutOutcome out, vault_.Store(in));
  if (out.created) {
    metrics_.stored.Inc();
    spdlog::info("portal stored message_id={} rcpt=<{}> id={} size={}", env.message_id(),
                 recipient, out.message.id(), in.content.size());
  } else {
    metrics_.duplicates.Inc();
  }
  if (out.message.notified()) return OkStatus();
  return Notify(out.message);
}

Status Intake::Notify(const pb::StoredMessage& message) {
  SG_ASSIGN_OR_RETURN(auto account, vault_.store().GetAccount(message.recipient()));
  const DomainSettings& settings = config_.For(message.sender_domain());
  const bool first_visit = !account.has_value();
  const bool with_code = first_visit && settings.second_factor == "code";
  SG_ASSIGN_OR_RETURN(IssuedLink link,
                      links_.IssueMessageLink(message.recipient(), message.id(),
                                              message.sender_domain(),
                                              // A link never outlives its message.
                                              std::min<int64_t>(config_.link_ttl.count(),
                                                                message.expires_at_ms() - clock_.NowMs()),
                                              with_code));
  SG_ASSIGN_OR_RETURN(pb::Summary summary, vault_.Summary(message));
  // The code first: a recipient must never hold a link whose code the
  // sender has not been sent.
  if (with_code) SG_RETURN_IF_ERROR(mailer_.SendCode(message, summary, link.code));
  SG_RETURN_IF_ERROR(mailer_.SendNotification(message, summary, link, first_visit));
  // The new link is on its way: the one sent before no longer opens the
  // message (an admin resends because a link was lost or forwarded; L5).
  if (!message.link_hash().empty()) SG_RETURN_IF_ERROR(links_.Revoke(message.link_hash()));
  pb::StoredMessage notified = message;
  notified.set_notified(true);
  notified.set_link_hash(link.hash);
  Status s = vault_.store().UpdateMessage(notified);
  if (!s.ok() && s.error().code == ErrorCode::kNotFound) {
    // Deleted (by the reader, an admin purge or expiry) while the
    // notification went out: gone on purpose, nothing left to mark.
    spdlog::info("portal: message id={} rcpt=<{}> was deleted while it was notified",
                 message.id(), message.recipient());
    return OkStatus();
  }
  return s;
}

}  // namespace sg::portal
