// The report the test address sends back (issue 24): how a message arrived
// (listener, client, TLS version and cipher, client certificate, SMTP AUTH
// identity), which tenant it belongs to, and what the policy did or would do
// with it (the dry run's actions and rules, the S/MIME layers found inbound),
// as a short text/plain message from the test address to the envelope
// sender.
//
// The report is a new record on the deliver topic like a DSN: null envelope
// sender (RFC 3834 3.3: it is never answered or bounced), Auto-Submitted:
// auto-replied, In-Reply-To / References the message's Message-ID, the
// X-Smimegate-Test-Report field (loop marker), direction reversed (back
// where the sender is). It quotes at most a few header fields of the
// message, never its body, and is never larger than the message it answers
// or kReportFloorBytes, whichever is larger (no amplification; lines are cut
// from the end). Every value is reduced to printable ASCII on one line. Its
// message id derives from the message's, so a retried record yields the
// same report id and egress suppresses the duplicate.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/envelope.pb.h"

namespace sg::workers {

inline constexpr size_t kReportFloorBytes = 2048;

// What the worker found out about the message (the processor gathers it).
struct TestReportFacts {
  std::string tenant;       // tenant id; empty: none / unknown
  std::string tenant_note;  // how it was found ("sender domain example.com") or why none
  // One line per policy action for the test address: "signed (rule=...)".
  std::vector<std::string> actions;
  // X-Smimegate-Verification values of the delivered form (inbound S/MIME).
  std::vector<std::string> verification;
  std::string outcome;  // one sentence: what happened to the message as a whole
};

struct TestReportContext {
  std::string test_address;   // From: of the report
  std::string reporting_mta;  // our host name (Message-ID, text)
  int64_t now_ms = 0;
};

// The report record for `original` (which has a non-null sender).
smimegate::v1::MessageRecord BuildTestReport(const smimegate::v1::MessageRecord& original,
                                             const TestReportFacts& facts,
                                             const TestReportContext& context);

}  // namespace sg::workers
