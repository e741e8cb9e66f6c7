// Delivery status notifications (RFC 3464 multipart/report, RFC 3463 status
// codes, RFC 3461 RET/NOTIFY/ENVID/ORCPT) for recipients that failed.
//
// The DSN is a new MessageRecord from the null sender to the original
// envelope sender; egress (delivery failures) and the workers (recipients
// the policy cannot serve) produce it onto the deliver topic like any other
// message. Its message id is derived from the original id and the failed
// recipients, so a DSN produced twice (after a crash) is suppressed by the
// dedupe store like any duplicate.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/mail/date.h"
#include "common/mail/smtp_reply.h"
#include "proto/envelope.pb.h"

namespace sg::mail {

struct FailedRecipient {
  smimegate::v1::Recipient recipient;  // address, NOTIFY, ORCPT as received
  std::string status;                  // RFC 3463 "5.1.1"
  std::string diagnostic;              // the peer's reply, "550 5.1.1 no such user"
  std::string remote_mta;              // host that answered, may be empty
};

// Whether the sender asked for failure DSNs for this recipient (NOTIFY
// absent means FAILURE,DELAY; NEVER or a list without FAILURE means no).
bool WantsFailureDsn(const smimegate::v1::Recipient& recipient);

struct DsnContext {
  std::string reporting_mta;  // our host name
  std::string postmaster;     // From: address
  int64_t now_ms = 0;
};

// Whether the DSN for `original` carries the whole message: only when the
// sender asked (RET=FULL) and the mail did not come from the internet. An
// internet sender is unauthenticated: a forged MAIL FROM with RET=FULL would
// make the gateway send a copy of the body - decrypted, for S/MIME mail to a
// hosted user - to any address (backscatter of content). Those DSNs carry
// the header section only, whatever RET says.
bool ReturnsFullMessage(const smimegate::v1::Envelope& original);

// Builds the DSN for `failed` recipients of `original`. The caller checks
// that the original sender is not the null sender.
smimegate::v1::MessageRecord BuildFailureDsn(const smimegate::v1::MessageRecord& original,
                                             const std::vector<FailedRecipient>& failed,
                                             const DsnContext& context);

}  // namespace sg::mail
