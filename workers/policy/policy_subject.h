// Subject tags: reading the user's steering tags from the Subject and
// writing the gateway's marks into it.
//
// Outbound tags ([confidential], [noenc], [nosign], [plain]) are matched
// case-insensitively anywhere in the subject, also inside RFC 2047 encoded
// words (the subject is decoded with GMime first), and removed before
// delivery. Inbound marks ([secure], [signed OK], [signed INVALID]) are
// prepended to the raw field value, outside any encoded word, so no other
// byte of a signed message changes (DESIGN invariant 7).
//
// Threading: pure functions (GMime is initialised once, thread-safely).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::workers {

struct SubjectTags {
  bool confidential = false;
  bool noenc = false;
  bool nosign = false;
  bool plain = false;
  bool any() const { return confidential || noenc || nosign || plain; }
  // "confidential,noenc" for logs; empty when none.
  std::string Names() const;
};

struct ParsedSubject {
  SubjectTags tags;
  // The new raw Subject value with every tag removed (RFC 2047 encoded again
  // where the text is not ASCII); nullopt when there was no tag (keep as is).
  std::optional<std::string> cleaned;
};

// |raw_value| is the unfolded field value as in the message (may contain
// encoded words or UTF-8).
ParsedSubject ParseSubject(std::string_view raw_value);

// Inbound: removes marks only the gateway may set ([secure], [signed OK],
// [signed INVALID], case-insensitive, also in encoded words), so that a
// sender cannot forge them. nullopt when there was none (keep as is).
std::optional<std::string> StripForgedMarks(std::string_view raw_value);

// Inbound: removes the marks above and also the steering tags ([plain],
// [noenc], [nosign], [confidential]; issue 13 point 5), so that a reply to
// a message from outside cannot silently turn protection off. nullopt when
// there was neither (keep as is).
struct InboundSubject {
  std::string value;          // the new raw Subject value
  bool mark_removed = false;  // [secure], [signed OK], [signed INVALID]
  bool tag_removed = false;   // [plain], [noenc], [nosign], [confidential]
};
std::optional<InboundSubject> StripInboundControls(std::string_view raw_value);

// "[secure] " + raw value (trimmed), e.g. MarkSubject("[secure]", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=").
std::string MarkSubject(std::string_view mark, std::string_view raw_value);

// The whole message with its Subject field value replaced by |value| (or a
// Subject added), every other byte unchanged.
Result<std::string> SetSubject(std::string_view message, std::string_view value);
// The unfolded Subject value, nullopt when there is no Subject field.
std::optional<std::string> GetSubject(std::string_view message);
// A raw header value with its RFC 2047 encoded words decoded (UTF-8, GMime);
// |raw| itself when it cannot be decoded.
std::string DecodeHeaderText(const std::string& raw);

}  // namespace sg::workers
