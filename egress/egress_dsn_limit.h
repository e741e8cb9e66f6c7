// A rate limit on the DSNs egress sends to the internet, per recipient
// domain (issue 13 point 4, backscatter).
//
// Mail from the internet carries an unauthenticated sender. Each bounce of
// it goes to whatever address the sender wrote, so a spammer forging
// addresses at victim.example can make a gateway flood victim.example with
// DSNs. Every domain gets at most `max` DSNs per `interval` (the shared
// token bucket, common/keyed_rate_limit.h, keyed by domain). A DSN over the
// limit is not sent and not lost either: egress keeps it on the dead-letter
// topic with the reason, where `smimegatectl deadletter` lists it and
// replays it if the administrator wants it sent after all; the retention of
// that topic removes it otherwise.
//
// State is in memory, per egress process: a restart forgets it (at worst
// `max` more DSNs per domain), and N egress processes allow N times `max`.
//
// Threading: loop thread only.
#pragma once

#include "common/keyed_rate_limit.h"

namespace sg::egress {

using DsnRateLimit = KeyedRateLimit;
using DsnRateLimiter = KeyedRateLimiter;

}  // namespace sg::egress
