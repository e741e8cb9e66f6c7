#include "portal/portal_intake.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "portal/portal_mime.h"
#include "portal/portal_store_keys.h"

namespace sg::portal {
namespace v1 = smimegate::v1;

// One recipient's message on its way through a batch.
struct Intake::Item {
  size_t record = 0;       // index in the batch
  std::string recipient;   // as the record names it (for a dead letter)
  NewMessage fresh;        // sealed, with its first link
  IssuedLink link;
  v1::MessageRecord code_mail;  // the registration code, when one is sent
  v1::MessageRecord notification;
  PutOutcome put;
  bool skip = false;  // failed, or nothing more to do for it in this batch
};

IntakeOutcome Intake::Handle(const v1::MessageRecord& record) {
  return std::move(HandleBatch({record}).at(0));
}

std::vector<IntakeOutcome> Intake::HandleBatch(const std::vector<v1::MessageRecord>& records) {
  std::vector<IntakeOutcome> out(records.size());
  std::vector<Item> items;
  for (size_t i = 0; i < records.size(); ++i) Accept(records[i], i, out[i], items);
  StoreAll(items, out);
  NotifyAll(items, records, out);
  // A record whose every recipient failed for good is one dead letter.
  for (size_t i = 0; i < records.size(); ++i) {
    auto& o = out[i];
    if (o.ok() && !o.dead_letters.empty() &&
        o.dead_letters.size() == static_cast<size_t>(records[i].envelope().recipients_size())) {
      o.status = o.dead_letters.front().error;
      o.dead_letters.clear();
    }
  }
  return out;
}

void Intake::Fail(const v1::MessageRecord& record, const std::string& recipient,
                  const Error& error, IntakeOutcome& outcome) {
  if (IsTransient(error.code) || error.code == ErrorCode::kCancelled) {
    if (outcome.status.ok()) outcome.status = error;  // the record is read again
    return;
  }
  RecipientDeadLetter dead{record, error};
  auto* rcpts = dead.record.mutable_envelope()->mutable_recipients();
  for (int i = rcpts->size() - 1; i >= 0; --i) {
    if (rcpts->Get(i).address() != recipient) rcpts->DeleteSubrange(i, 1);
  }
  if (rcpts->size() > 1) rcpts->DeleteSubrange(1, rcpts->size() - 1);
  outcome.dead_letters.push_back(std::move(dead));
}

void Intake::Accept(const v1::MessageRecord& record, size_t index, IntakeOutcome& outcome,
                    std::vector<Item>& items) {
  const auto& env = record.envelope();
  if (env.message_id().empty() || env.recipients_size() == 0 || record.message().empty()) {
    outcome.status = MakeError(ErrorCode::kInvalidArgument,
                               "portal record without message id, recipients or message");
    return;
  }
  const pb::Summary summary = ParseForPortal(record.message()).summary;
  std::set<std::string> seen;
  for (const auto& r : env.recipients()) {
    Item item;
    item.record = index;
    item.recipient = r.address();
    const std::string recipient = NormalizeRecipient(r.address());
    Status s = recipient.empty()
                   ? MakeError(ErrorCode::kInvalidArgument, "portal record recipient \"" +
                                                                r.address() + "\" is not an address")
                   : Prepare(record, recipient, summary, item);
    if (!s.ok()) {
      Fail(record, r.address(), s.error(), outcome);
      continue;
    }
    // One message per recipient, also when the record names it twice.
    if (seen.insert(recipient).second) items.push_back(std::move(item));
  }
}

Status Intake::Prepare(const v1::MessageRecord& record, const std::string& recipient,
                       const pb::Summary& summary, Item& item) {
  const auto& env = record.envelope();
  IncomingMessage in;
  in.source_key = env.message_id() + "/" + recipient;
  in.queue_message_id = env.message_id();
  in.recipient = recipient;
  in.sender = NormalizeRecipient(env.mail_from());
  in.sender_domain = mail::DomainOf(env.mail_from());
  const DomainSettings& settings = config_.For(in.sender_domain);
  const int64_t now = clock_.NowMs();
  in.expires_at_ms = now + settings.retention.count();
  in.content = record.message();
  in.summary = summary;
  item.fresh = vault_.Prepare(in);
  const pb::StoredMessage& m = item.fresh.message;
  SG_ASSIGN_OR_RETURN(auto account, vault_.store().GetAccount(recipient));
  const bool first_visit = !account.has_value();
  const bool with_code = first_visit && settings.second_factor == "code";
  // A link never outlives its message.
  item.link = links_.PrepareMessageLink(recipient, m.id(), m.sender_domain(),
                                        std::min<int64_t>(config_.link_ttl.count(),
                                                          m.expires_at_ms() - now),
                                        with_code, &item.fresh.link);
  item.fresh.link_hash = item.link.hash;
  item.fresh.message.set_link_hash(item.link.hash);
  if (with_code) {
    SG_ASSIGN_OR_RETURN(item.code_mail, mailer_.ComposeCode(m, summary, item.link.code));
  }
  SG_ASSIGN_OR_RETURN(item.notification,
                      mailer_.ComposeNotification(m, summary, item.link, first_visit));
  return OkStatus();
}

void Intake::StoreAll(std::vector<Item>& items, std::vector<IntakeOutcome>& out) {
  if (items.empty()) return;
  std::vector<NewMessage> batch;
  batch.reserve(items.size());
  for (const auto& item : items) batch.push_back(item.fresh);
  auto put = vault_.store().PutMessages(batch);
  std::set<std::string> created;  // stored by this batch: notified by it
  for (size_t k = 0; k < items.size(); ++k) {
    Item& item = items[k];
    if (!put.ok()) {
      item.skip = true;
      if (out[item.record].status.ok()) out[item.record].status = put.error();
      continue;
    }
    item.put = std::move((*put)[k]);
    const pb::StoredMessage& m = item.put.message;
    const std::string owned = keys::Owned(m.recipient(), m.id());
    if (!item.put.created && created.count(owned) > 0) {
      // The same record twice in one poll: its first copy notifies.
      item.skip = true;  // nothing to do for it
      metrics_.duplicates.Inc();
      continue;
    }
    if (item.put.created) {
      created.insert(owned);
      metrics_.stored.Inc();
      spdlog::info("portal stored message_id={} rcpt=<{}> id={} size={}", m.queue_message_id(),
                   m.recipient(), m.id(), m.size());
    } else {
      metrics_.duplicates.Inc();
      if (item.put.gone) {
        spdlog::info("portal: message_id={} rcpt=<{}> was stored and deleted before; not again",
                     m.queue_message_id(), m.recipient());
      }
    }
  }
}

void Intake::NotifyAll(std::vector<Item>& items, const std::vector<v1::MessageRecord>& records,
                       std::vector<IntakeOutcome>& out) {
  // Stored before but not notified (a crash in between): a new link.
  for (auto& item : items) {
    if (item.skip || item.put.created || item.put.gone || item.put.message.notified()) continue;
    item.skip = true;  // nothing more to do for it in this batch either way
    if (Status s = Notify(item.put.message); !s.ok()) {
      Fail(records[item.record], item.recipient, s.error(), out[item.record]);
    }
  }
  // The new ones: the codes first (a recipient must never hold a link whose
  // code the sender has not been sent), then the notifications.
  for (const bool codes : {true, false}) {
    std::vector<Item*> sending;
    std::vector<v1::MessageRecord> mails;
    for (auto& item : items) {
      if (item.skip || !item.put.created) continue;
      if (codes && item.link.code.empty()) continue;
      sending.push_back(&item);
      mails.push_back(codes ? item.code_mail : item.notification);
    }
    if (mails.empty()) continue;
    const std::vector<Status> sent = mailer_.DeliverAll(mails);
    for (size_t k = 0; k < sending.size(); ++k) {
      if (sent.at(k).ok()) continue;
      sending[k]->skip = true;
      Fail(records[sending[k]->record], sending[k]->recipient, sent[k].error(),
           out[sending[k]->record]);
    }
  }
  std::vector<std::string> notified;
  for (const auto& item : items) {
    if (!item.skip && item.put.created) {
      notified.push_back(keys::Owned(item.put.message.recipient(), item.put.message.id()));
    }
  }
  if (notified.empty()) return;
  if (Status s = vault_.store().MarkNotified(notified); !s.ok()) {
    for (const auto& item : items) {
      if (!item.skip && item.put.created && out[item.record].status.ok()) {
        out[item.record].status = s.error();
      }
    }
  }
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
  // The new link is on its way: it replaces the one sent before in one step
  // under the store's lock, and that one no longer opens the message (an
  // admin resends because a link was lost or forwarded; L5, R10).
  auto old = vault_.store().SwapLinkHash(message.recipient(), message.id(), link.hash);
  if (!old.ok()) {
    // Not recorded: the new link must not stay usable unrecorded (a retry
    // sends another one). Deleted meanwhile: gone on purpose.
    if (Status r = links_.Revoke(link.hash); !r.ok()) {
      spdlog::warn("portal: revoking an unrecorded link: {}", r.error().ToString());
    }
    if (old.error().code == ErrorCode::kNotFound) {
      spdlog::info("portal: message id={} rcpt=<{}> was deleted while it was notified",
                   message.id(), message.recipient());
      return OkStatus();
    }
    return old.error();
  }
  if (!old->empty() && *old != link.hash) SG_RETURN_IF_ERROR(links_.Revoke(*old));
  return OkStatus();
}

}  // namespace sg::portal
