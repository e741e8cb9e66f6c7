// The body written once (issue 21; docs/architecture.md, "The body written
// once"): a deliver record whose message is, byte for byte, the message of
// the record it came from refers to that record's body (MessageRecord
// body_ref) instead of carrying a second copy, and pins it on the queue
// (common/queue.h, "Pins") so it stays until the deliver record is gone.
//
//   worker  ShareBody: turns an output into a reference (or leaves it).
//   egress  ResolveBody: puts the body back before anything reads the record;
//           retries, dead letters, holds and DSNs then see a whole message
//           and write it in full (rare paths: the copy happens only there).
//
// Threading: pure functions apart from ResolveBody's queue read (any thread;
// may block on I/O).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/queue.h"
#include "common/result.h"
#include "proto/envelope.pb.h"

namespace sg::queue {

// The `message` field (2) of a serialised MessageRecord, as a view into
// `serialized`, without parsing the rest; nullopt when it is absent or the
// bytes are not a MessageRecord.
std::optional<std::string_view> SerializedMessageField(std::string_view serialized);

// When out.message() equals `source_body` (the message of `source`, the
// record being processed) and is not empty: clears it, sets out.body_ref to
// `source` and returns the pin the record carrying `out` must take.
// Otherwise nullopt and `out` is unchanged.
std::optional<RecordRef> ShareBody(const Record& source, std::string_view source_body,
                                   smimegate::v1::MessageRecord& out);

// The Kafka mode (common/queue_references.h, kRetained): nothing pins the
// referred record, so the record carrying a reference also carries the
// body's SHA-256 (BodyDigest, 32 bytes) in this queue header, and
// ResolveBody checks it.
inline constexpr std::string_view kBodyDigestHeader = "sg-body-sha256";
std::string BodyDigest(std::string_view body);

// Puts the body `rec.body_ref` names into rec.message and clears body_ref
// (nothing to do without one). `key` is the queue key of the record that
// carried `rec`: the referenced record must have the same. Errors name the
// reference: kNotFound (the record is gone), kCorruption (not a
// MessageRecord, another message's record, a body of another length or,
// when `sha256` is not empty - the carrier's kBodyDigestHeader - another
// digest); others from Queue::ReadRecord.
Status ResolveBody(Queue& queue, std::string_view key, smimegate::v1::MessageRecord& rec,
                   std::string_view sha256 = {});

}  // namespace sg::queue
