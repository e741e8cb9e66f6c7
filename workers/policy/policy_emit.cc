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

const char* DirectionName(v1::Direction d) {
  return d == v1::DIRECTION_INBOUND    ? "inbound"
         : d == v1::DIRECTION_OUTBOUND ? "outbound"
                                       : "unspecified";
}

void LogDecision(const v1::MessageRecord& record, const std::string& rcpt,
                 const std::string& action, const std::string& rule, const std::string& form_id,
                 const log::Fields& extra) {
  log::Event("policy")
      .Field("message_id", record.envelope().message_id())
      .Field("direction", DirectionName(record.envelope().direction()))
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

}  // namespace sg::workers
