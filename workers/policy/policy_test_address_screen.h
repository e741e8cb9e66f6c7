// Whether a message to the test address gets a report (issue 24): never to
// the null sender, never to automatic mail, never in a loop (RFC 3834
// section 2: personal responders do not answer these).
//
// Pure and table-tested (tests/workers/policy/policy_test_address_test.cc);
// the per-sender rate limit comes after it, in the processor.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "proto/envelope.pb.h"
#include "workers/smime/smime_mime.h"

namespace sg::workers {

// The header field every report carries; a message that has it is one of
// ours (or a reply quoting it) and is never answered.
inline constexpr std::string_view kTestReportHeader = "X-Smimegate-Test-Report";

enum class TestScreen {
  kAnswer,
  kNullSender,     // MAIL FROM:<> (a DSN or another auto-reply)
  kAutoSubmitted,  // Auto-Submitted other than "no", Precedence bulk/list/junk,
                   // List-Id, or a MAILER-DAEMON / owner- / -request sender
  kLoop,           // our own report, or the test address as the sender
};

// Metric label: answer | null_sender | auto_submitted | loop.
std::string_view TestScreenName(TestScreen screen);

// |test_address| normalised. A message whose header cannot be parsed is
// kAutoSubmitted (not answered: a report on it would say nothing useful).
TestScreen ScreenTestMessage(const smimegate::v1::MessageRecord& record,
                             std::string_view test_address, const smime::MimeLimits& limits);

}  // namespace sg::workers
