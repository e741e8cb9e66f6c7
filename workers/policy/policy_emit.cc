#include "workers/policy/policy_emit.h"

#include <spdlog/spdlog.h>

#include "common/ascii.h"

namespace sg::workers {
namespace v1 = smimegate::v1;

v1::MessageRecord Derive(const v1::MessageRecord& in, std::string message, std::string form_id,
                         const std::vector<v1::Recipient>& recipients) {
  v1::MessageRecord out;
  *out.mutable_envelope() = in.envelope();
  out.mutable_envelope()->clear_recipients();
  for (const auto& r : recipients) *out.mutable_envelope()->add_recipients() = r;
  out.set_message(std::move(message));
  out.set_form_id(std::move(form_id));
  *out.mutable_notes() = in.notes();
  *out.mutable_delivery() = in.delivery();
  return out;
}

void Note(v1::MessageRecord& out, const std::string& action, const std::string& rule,
          const std::string& rcpt) {
  auto* n = out.add_notes();
  n->set_action(action);
  n->set_rule(rule);
  n->set_detail(rcpt);
}

void LogDecision(const v1::MessageRecord& record, const std::string& rcpt,
                 const std::string& action, const std::string& rule, const std::string& form_id,
                 const log::Fields& extra) {
  log::MessageEvent("policy", record.envelope())
      .Field("from", record.envelope().mail_from())
      .Field("rcpt", rcpt)
      .Field("action", action)
      .Field("rule", rule)
      .Field("form", form_id.empty() ? "-" : form_id)
      .Fields(extra)
      .Info();
}
// Whether harvested SMIMECapabilities list an AES-GCM cipher (short names
// "aes-256-gcm"/"id-aes256-GCM" or the OIDs 2.16.840.1.101.3.4.1.6/.26/.46).
bool AnnouncesAesGcm(const std::vector<std::string>& capabilities) {
  for (const auto& c : capabilities) {
    const std::string l = AsciiLower(c);
    if (l.find("gcm") != std::string::npos || l == "2.16.840.1.101.3.4.1.6" ||
        l == "2.16.840.1.101.3.4.1.26" || l == "2.16.840.1.101.3.4.1.46") {
      return true;
    }
  }
  return false;
}

mail::FailedRecipient BadAddressBounce(const v1::MessageRecord& record, const std::string& addr,
                                       const v1::Recipient& rcpt, const std::string& why,
                                       PolicyMetrics& metrics) {
  metrics.Bounce("bad_address");
  LogDecision(record, addr, "bounce", "bad-address", "", {{"status", std::string("5.1.3")}});
  mail::FailedRecipient f;
  f.recipient = rcpt;
  f.status = "5.1.3";
  f.diagnostic = "550 5.1.3 " + why;
  return f;
}

}  // namespace sg::workers
