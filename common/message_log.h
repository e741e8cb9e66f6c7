// Log lines about one message, as data: an sg::log::Event (common/log_event.h)
// that starts with the message's keys, so every stage's lines about a message
// carry the same JSON keys (log.format json) and can be joined on message_id.
//
//   log::MessageEvent("egress", env).Field("rcpt", r).Field("action", "delivered").Info();
//
// -> {"stage":"egress","message_id":"Q1","direction":"outbound","rcpt":..,"action":"delivered"}
//
// Key names used across the stages: message_id, direction, from, rcpt,
// rcpts (a count), action, rule, form, status, reason, peer, attempt.
//
// Threading: as log::Event.
#pragma once

#include <string_view>

#include "common/log_event.h"
#include "proto/envelope.pb.h"

namespace sg::log {

// "inbound", "outbound" or "unspecified".
const char* DirectionName(smimegate::v1::Direction d);

// An Event with stage, message_id and direction of |env|.
Event MessageEvent(std::string_view stage, const smimegate::v1::Envelope& env);

}  // namespace sg::log
