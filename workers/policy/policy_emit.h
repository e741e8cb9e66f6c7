// Building the output records of the policy: a derived record per delivery
// form, its ProcessingNotes, and the one log line per message and recipient.
//
// Threading: pure functions (logging through spdlog, which is thread-safe).
#pragma once

#include <string>
#include <vector>

#include "common/log_event.h"
#include "proto/envelope.pb.h"

namespace sg::workers {

// A record with the same envelope and these recipients, message and form.
smimegate::v1::MessageRecord Derive(const smimegate::v1::MessageRecord& in, std::string message,
                                    std::string form_id,
                                    const std::vector<smimegate::v1::Recipient>& recipients);

// Appends ProcessingNote{action, rule, detail=rcpt}.
void Note(smimegate::v1::MessageRecord& out, const std::string& action, const std::string& rule,
          const std::string& rcpt);

// "inbound" | "outbound" | "unspecified"
const char* DirectionName(smimegate::v1::Direction d);

// The policy decision log line (an sg::log::Event, stage "policy"): fields
// message_id, direction, from, rcpt, action, rule, form, then |extra|.
void LogDecision(const smimegate::v1::MessageRecord& record, const std::string& rcpt,
                 const std::string& action, const std::string& rule, const std::string& form_id,
                 const log::Fields& extra = {});

// Whether harvested SMIMECapabilities list an AES-GCM cipher (short names
// "aes-256-gcm"/"id-aes256-GCM" or the OIDs 2.16.840.1.101.3.4.1.6/.26/.46).
bool AnnouncesAesGcm(const std::vector<std::string>& capabilities);

}  // namespace sg::workers
