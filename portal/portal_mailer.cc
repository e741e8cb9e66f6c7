#include "portal/portal_mailer.h"

#include <ctime>

#include "portal/portal_crypto.h"
#include "portal/portal_mail.h"

namespace sg::portal {
namespace v1 = smimegate::v1;

std::string Mailer::FormatTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Mailer::NoReplyFrom(const std::string& domain) const {
  if (!config_.notification_from.empty()) return config_.notification_from;
  return "noreply@" + (domain.empty() ? config_.hostname : domain);
}

Result<v1::MessageRecord> Mailer::Compose(const std::string& kind, const std::string& domain,
                                          const Brand& brand, const std::string& lang,
                                          mustache::data data, const std::string& envelope_from,
                                          const std::string& from, const std::string& to,
                                          bool to_internal) {
  // The tenant's branding (portal_brand.h): organisation, support, logo.
  if (!brand.display_name.empty()) data.set("display_name", brand.display_name);
  if (!brand.support.empty()) data.set("support", brand.support);
  if (brand.has_logo()) data.set("logo_url", config_.public_url + "/brand/" + brand.key + "/logo");
  MailHeaders h;
  h.from = brand.from_address.empty() ? from : brand.from_address;
  h.from_name = brand.from_name;
  h.to = to;
  h.date_unix = clock_.NowMs() / 1000;
  h.message_id_domain = domain.empty() ? config_.hostname : domain;
  h.kind = kind;
  SG_ASSIGN_OR_RETURN(std::string mail,
                      ComposeMail(templates_, brand.settings, lang, std::move(data), h));
  v1::MessageRecord record;
  auto* env = record.mutable_envelope();
  env->set_message_id("portal-" + kind + "-" + Hex(RandomBytes(12)));
  env->set_direction(to_internal ? v1::DIRECTION_INBOUND : v1::DIRECTION_OUTBOUND);
  env->set_listener("portal");
  env->set_origin(v1::ORIGIN_PORTAL);
  env->set_mail_from(envelope_from);
  env->set_received_at_ms(clock_.NowMs());
  env->add_recipients()->set_address(to);
  record.set_message(std::move(mail));
  record.set_form_id("portal-" + kind);
  auto* note = record.add_notes();
  note->set_action("portal-" + kind);
  note->set_rule("web-encryption");
  note->set_detail(to);
  return record;
}

std::vector<Status> Mailer::DeliverAll(const std::vector<v1::MessageRecord>& mails) {
  std::vector<Status> out = outbox_.DeliverAll(mails);
  for (size_t i = 0; i < mails.size() && i < out.size(); ++i) {
    if (!out[i].ok()) continue;
    std::string_view kind = mails[i].form_id();
    if (kind.rfind("portal-", 0) == 0) kind.remove_prefix(7);
    metrics_.notifications.WithLabels({std::string(kind)}).Inc();
  }
  return out;
}

Status Mailer::Send(const Result<v1::MessageRecord>& mail) {
  if (!mail.ok()) return mail.error();
  return DeliverAll({*mail}).at(0);
}

Status Mailer::SendNotification(const pb::StoredMessage& m, const pb::Summary& summary,
                                const IssuedLink& link, bool first_visit) {
  return Send(ComposeNotification(m, summary, link, first_visit));
}

Result<v1::MessageRecord> Mailer::ComposeNotification(const pb::StoredMessage& m,
                                                      const pb::Summary& summary,
                                                      const IssuedLink& link, bool first_visit) {
  const Brand brand = brands_.For(m.sender_domain());
  const DomainSettings& d = brand.settings;
  mustache::data data;
  data.set("sender", m.sender());
  // The notification travels in clear: the subject only when the sender's
  // domain allows it (portal.domains[].subject_in_notification, review L7).
  if (d.subject_in_notification && !summary.subject().empty()) {
    data.set("subject", summary.subject());
  }
  data.set("link", link.url);
  data.set("expires", FormatTime(link.expires_ms));
  data.set("kept_until", FormatTime(m.expires_at_ms()));
  data.set("first_visit", first_visit);
  data.set("code_required", first_visit && !link.code.empty());
  const std::string from = m.sender().empty() ? NoReplyFrom(m.sender_domain()) : m.sender();
  return Compose("notification", m.sender_domain(), brand, d.language, std::move(data), m.sender(),
                 from, m.recipient(), /*to_internal=*/false);
}

Status Mailer::SendCode(const pb::StoredMessage& m, const pb::Summary& summary,
                        const std::string& code) {
  return Send(ComposeCode(m, summary, code));
}

Result<v1::MessageRecord> Mailer::ComposeCode(const pb::StoredMessage& m,
                                              const pb::Summary& summary,
                                              const std::string& code) {
  const Brand brand = brands_.For(m.sender_domain());
  mustache::data data;
  data.set("recipient", m.recipient());
  data.set("subject", summary.subject());
  data.set("code", code.substr(0, 4) + " " + code.substr(4));
  return Compose("code", m.sender_domain(), brand, brand.settings.language, std::move(data), "",
                 NoReplyFrom(m.sender_domain()), m.sender(), /*to_internal=*/true);
}

Status Mailer::SendReset(const std::string& address, const std::string& domain,
                         const IssuedLink& link, const std::string& lang) {
  const Brand brand = brands_.For(domain);
  mustache::data data;
  data.set("address", address);
  data.set("link", link.url);
  data.set("expires", FormatTime(link.expires_ms));
  return Send(Compose("reset", domain, brand, lang.empty() ? brand.settings.language : lang,
                      std::move(data), "", NoReplyFrom(domain), address, /*to_internal=*/false));
}

}  // namespace sg::portal
