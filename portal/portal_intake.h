// The portal's side of the queue: each record the workers put on the portal
// topic (a message that must be encrypted to recipients without a
// certificate) is stored, sealed, once per recipient, and each recipient
// gets a notification with a one-time link (docs/portal.md "Intake").
//
// At least once, kept once: the store write is keyed by (queue message id,
// recipient) and synced before the notifications go out, so a record read
// again after a crash finds its messages stored and changes nothing.
//
// Batches (HandleBatch: the records one poll of the consumer returned):
//   1. every record and every recipient is checked, and every message
//      sealed and its notification composed, before anything is stored
//      (review R8: a recipient that fails for good is kept as a dead letter
//      of its own; the record's other recipients go on);
//   2. all new messages, with their first links, in ONE synced store write
//      (PortalStore::PutMessages);
//   3. all notifications handed to the deliver topic together, awaited
//      together (the embedded queue syncs them once);
//   4. the notified ones marked in one store write.
// So a batch of n records costs two store syncs and one queue sync, not
// about four syncs per record. A message is marked `notified` only after its
// notification is durable in the deliver queue; one that is stored but not
// notified (a crash, or a failed hand-over) gets a new link and
// notification on the next delivery of the record (Notify), and the expiry
// sweep notifies the ones whose record never comes back (a dead letter).
// A message deleted since it was stored leaves a tombstone: the record
// read again stores and notifies nothing.
//
// Errors: per recipient, transient ones (IsTransient, kCancelled: store or
// queue down) make the record's status that error ("read it again later");
// any other code (kInvalidArgument for a broken address, kPermissionDenied,
// kNotFound or kInternal when the notification cannot be made) cannot heal
// by itself, and that recipient becomes a dead letter with the reason. When
// every recipient failed for good, the whole record does (status). A
// message deleted while its notification went out is not an error.
//
// Threading: HandleBatch may run on several threads at once.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "portal/portal_address.h"
#include "portal/portal_config.h"
#include "portal/portal_intake_outcome.h"
#include "portal/portal_links.h"
#include "portal/portal_mailer.h"
#include "portal/portal_metrics.h"
#include "portal/portal_vault.h"
#include "proto/envelope.pb.h"

namespace sg::portal {

class Intake {
 public:
  Intake(const PortalConfig& config, PortalVault& vault, Links& links, Mailer& mailer,
         PortalMetrics& metrics, const Clock& clock)
      : config_(config), vault_(vault), links_(links), mailer_(mailer), metrics_(metrics),
        clock_(clock) {}

  // One outcome per record, in order.
  std::vector<IntakeOutcome> HandleBatch(const std::vector<smimegate::v1::MessageRecord>& records);
  IntakeOutcome Handle(const smimegate::v1::MessageRecord& record);

  // A new notification of a stored message (a record read again before its
  // message was marked notified, the expiry sweep, and `smimegatectl portal
  // resend-link`): a new link, and the registration code to the sender
  // when the recipient has no account yet and the domain wants one; the
  // link sent before is revoked (PortalStore::SwapLinkHash).
  Status Notify(const pb::StoredMessage& message);

 private:
  struct Item;
  // Checks one record and prepares its recipients' messages and mails.
  void Accept(const smimegate::v1::MessageRecord& record, size_t index, IntakeOutcome& outcome,
              std::vector<Item>& items);
  Status Prepare(const smimegate::v1::MessageRecord& record, const std::string& recipient,
                 const pb::Summary& summary, Item& item);
  void StoreAll(std::vector<Item>& items, std::vector<IntakeOutcome>& out);
  void NotifyAll(std::vector<Item>& items, const std::vector<smimegate::v1::MessageRecord>& records,
                 std::vector<IntakeOutcome>& out);
  // Records a recipient's failure in its record's outcome.
  static void Fail(const smimegate::v1::MessageRecord& record, const std::string& recipient,
                   const Error& error, IntakeOutcome& outcome);

  const PortalConfig& config_;
  PortalVault& vault_;
  Links& links_;
  Mailer& mailer_;
  PortalMetrics& metrics_;
  const Clock& clock_;
};

}  // namespace sg::portal
