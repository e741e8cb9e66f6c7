// What the intake made of one queue record (portal_intake.h), for the
// consumer loop (portal_intake_loop.h) to act on.
//
//   status        OK: every recipient is stored and notified, or listed in
//                 dead_letters; transient: read the record again; anything
//                 else: the whole record goes to the dead-letter topic.
//   dead_letters  recipients that failed for good while the others went on
//                 (review R8): each a copy of the record with only that
//                 recipient, kept as a dead letter with its reason.
//
// Threading: a value type.
#pragma once

#include <vector>

#include "common/result.h"
#include "proto/envelope.pb.h"

namespace sg::portal {

struct RecipientDeadLetter {
  smimegate::v1::MessageRecord record;  // the record, with only this recipient
  Error error;
};

struct IntakeOutcome {
  Status status = OkStatus();
  std::vector<RecipientDeadLetter> dead_letters;

  bool ok() const { return status.ok(); }
  const Error& error() const { return status.error(); }
};

}  // namespace sg::portal
