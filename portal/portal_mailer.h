// The portal's outgoing mails (portal_mail.h composes, portal_outbox.h
// hands them to egress through the deliver topic):
//   - the notification to a recipient: a one-time link to the message;
//     envelope sender = the original sender, so a bounce reaches them;
//   - the registration code to the sender, when the sender's domain wants
//     one (second_factor: code), to pass on by telephone;
//   - the password-reset link to a recipient.
// Automatic mails (code, reset) go out with the null envelope sender.
//
// Threading: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "portal/portal_brand.h"
#include "portal/portal_config.h"
#include "portal/portal_links.h"
#include "portal/portal_metrics.h"
#include "portal/portal_outbox.h"
#include "portal/portal_templates.h"

namespace sg::portal {

class Mailer {
 public:
  // `brands`: the tenant brandings (portal_brand.h); null = the config's alone.
  Mailer(const PortalConfig& config, const Templates& templates, Outbox& outbox, const Clock& clock,
         PortalMetrics& metrics, const Brands* brands = nullptr)
      : config_(config),
        templates_(templates),
        outbox_(outbox),
        clock_(clock),
        metrics_(metrics),
        own_brands_(config, nullptr),
        brands_(brands != nullptr ? *brands : own_brands_) {}

  Status SendNotification(const pb::StoredMessage& message, const pb::Summary& summary,
                          const IssuedLink& link, bool first_visit);
  Status SendCode(const pb::StoredMessage& message, const pb::Summary& summary,
                  const std::string& code);
  Status SendReset(const std::string& address, const std::string& domain, const IssuedLink& link,
                   const std::string& lang);

  // The same mails composed but not sent, for DeliverAll (the intake sends
  // a batch's notifications together: one durable hand-over, not one each).
  Result<smimegate::v1::MessageRecord> ComposeNotification(const pb::StoredMessage& message,
                                                           const pb::Summary& summary,
                                                           const IssuedLink& link,
                                                           bool first_visit);
  Result<smimegate::v1::MessageRecord> ComposeCode(const pb::StoredMessage& message,
                                                   const pb::Summary& summary,
                                                   const std::string& code);
  // Hands the mails to the outbox together; one status per mail, in order.
  std::vector<Status> DeliverAll(const std::vector<smimegate::v1::MessageRecord>& mails);

  // "2026-12-06 10:00 UTC"
  static std::string FormatTime(int64_t ms);

 private:
  // `from`: the header From unless the brand names a sender_address.
  Result<smimegate::v1::MessageRecord> Compose(const std::string& kind, const std::string& domain,
                                               const Brand& brand, const std::string& lang,
                                               mustache::data data,
                                               const std::string& envelope_from,
                                               const std::string& from, const std::string& to,
                                               bool to_internal);
  Status Send(const Result<smimegate::v1::MessageRecord>& mail);
  std::string NoReplyFrom(const std::string& domain) const;

  const PortalConfig& config_;
  const Templates& templates_;
  Outbox& outbox_;
  const Clock& clock_;
  PortalMetrics& metrics_;
  Brands own_brands_;
  const Brands& brands_;
};

}  // namespace sg::portal
