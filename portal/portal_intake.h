// The portal's side of the queue: each record the workers put on the portal
// topic (a message that must be encrypted to recipients without a
// certificate) is stored, sealed, once per recipient, and each recipient
// gets a notification with a one-time link (docs/portal.md "Intake").
//
// At least once, kept once: the store write is keyed by (queue message id,
// recipient) and synced before Handle returns, so a record read again after
// a crash finds its messages stored and changes nothing. A message is
// marked `notified` only after its notification is durable in the deliver
// queue; one that is stored but not yet notified (a crash in between) gets
// its notification on the next delivery of the record.
//
// Errors: transient ones (store or queue down) mean "read the record again
// later"; kInvalidArgument means the record itself is broken (the caller
// keeps it as a dead letter with the reason).
//
// Threading: Handle may run on several threads at once.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "portal/portal_address.h"
#include "common/clock.h"
#include "portal/portal_config.h"
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

  Status Handle(const smimegate::v1::MessageRecord& record);

  // The notification of a stored message (the intake, and `smimegatectl
  // portal resend-link`): a new link, and the registration code to the
  // sender when the recipient has no account yet and the domain wants one.
  Status Notify(const pb::StoredMessage& message);

 private:
  Status HandleRecipient(const smimegate::v1::MessageRecord& record, const std::string& recipient);

  const PortalConfig& config_;
  PortalVault& vault_;
  Links& links_;
  Mailer& mailer_;
  PortalMetrics& metrics_;
  const Clock& clock_;
};

}  // namespace sg::portal
