// Building the output records of the policy: a derived record per delivery
// form, its ProcessingNotes, and the one log line per message and recipient.
//
// Threading: pure functions (logging through spdlog, which is thread-safe).
#pragma once

#include <string>
#include <vector>

#include "common/log_event.h"
#include "common/mail/dsn.h"
#include "common/message_log.h"
#include "proto/envelope.pb.h"
#include "workers/policy/policy_metrics.h"

namespace sg::workers {

// A record with the same envelope and these recipients, message and form.
smimegate::v1::MessageRecord Derive(const smimegate::v1::MessageRecord& in, std::string message,
                                    std::string form_id,
                                    const std::vector<smimegate::v1::Recipient>& recipients);

// Appends ProcessingNote{action, rule, detail=rcpt}.
void Note(smimegate::v1::MessageRecord& out, const std::string& action, const std::string& rule,
          const std::string& rcpt);

// "inbound" | "outbound" | "unspecified" (common/message_log.h)
using log::DirectionName;

// The policy decision log line (an sg::log::Event, stage "policy"): fields
// message_id, direction, from, rcpt, action, rule, form, then |extra|.
void LogDecision(const smimegate::v1::MessageRecord& record, const std::string& rcpt,
                 const std::string& action, const std::string& rule, const std::string& form_id,
                 const log::Fields& extra = {});

// Whether harvested SMIMECapabilities list an AES-GCM cipher (short names
// "aes-256-gcm"/"id-aes256-GCM" or the OIDs 2.16.840.1.101.3.4.1.6/.26/.46).
bool AnnouncesAesGcm(const std::vector<std::string>& capabilities);

// A recipient whose address the keyservice cannot process (either
// direction): counts the bounce, logs the decision and returns its failure
// for the DSN with 5.1.3 (RFC 3463: bad destination mailbox address syntax)
// and "550 5.1.3 <why>"; the message's other recipients go on.
mail::FailedRecipient BadAddressBounce(const smimegate::v1::MessageRecord& record,
                                       const std::string& addr,
                                       const smimegate::v1::Recipient& rcpt, const std::string& why,
                                       PolicyMetrics& metrics);

}  // namespace sg::workers
