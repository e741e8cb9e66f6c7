// The dead-letter topic: records a stage gave up on, kept with a reason for
// the administrator (DESIGN.md invariant 3), bounded by a retention (age and
// bytes, queue.deadletter.*) and managed with `smimegatectl deadletter`.
//
// Every stage writes its dead letters the same way: the record's value
// unchanged (a MessageRecord, or the undecodable bytes), and these headers.
#pragma once

#include <string_view>

namespace sg::deadletter {

// Why the record was given up: one line, for people.
inline constexpr std::string_view kReasonHeader = "sg-reason";
// The topic it was taken from (replay puts it back there, see deadletter_admin.h).
inline constexpr std::string_view kSourceTopicHeader = "sg-source-topic";
// The stage that gave up: "workers" or "egress".
inline constexpr std::string_view kStageHeader = "sg-stage";

}  // namespace sg::deadletter
