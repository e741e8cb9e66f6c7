// What the worker pool produces when it gives up on a record: the dead
// letter (the record unchanged, with the common/deadletter.h headers) and -
// when the record is a message whose sender can be told - one DSN to the
// sender (DESIGN.md invariant 3; issue 13 point 9): never silence.
//
// The DSN says only that the gateway could not process the message and
// keeps it for the administrator, with a reference; never the internal
// reason, which may describe a decryption failure (invariant 9: nothing a
// sender sees depends on secret data). It follows the DSN rules of egress:
// the header only for mail from the internet, NOTIFY honoured, nothing for
// the null sender, and egress's per-domain rate limit on the way out.
//
// Threading: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/queue.h"

namespace sg::workers {

struct GiveUpContext {
  std::string deadletter_topic;
  std::string deliver_topic;
  std::string reporting_mta;  // workers.policy.dsn.reporting_mta
  std::string postmaster;     // workers.policy.dsn.postmaster
  int64_t now_ms = 0;
  // False for a refusal on policy grounds (the processor's
  // kPermissionDenied: an inbound message quarantined as a padding-oracle /
  // EFAIL probe, issue 13 point 1): kept, but no DSN - answering would hand
  // the prober the signal the quarantine withholds.
  bool tell_sender = true;
};

// The headers of a dead letter the workers write (common/deadletter.h):
// the reason, the topic the record came from, the stage.
std::vector<queue::Header> DeadLetterHeaders(const std::string& reason,
                                             const std::string& source_topic);

// `permanent`: a permanent processing error (DSN status 5.3.0); otherwise
// the record's transient failures were exhausted (4.3.0, still a final
// "failed" report). The dead letter comes first.
std::vector<queue::OutRecord> GiveUpRecords(const queue::Record& record, const std::string& reason,
                                            bool permanent, const GiveUpContext& context);

}  // namespace sg::workers
