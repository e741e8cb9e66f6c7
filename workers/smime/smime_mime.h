// Byte-exact MIME primitives for the S/MIME engine.
//
// Purpose: split a message into header fields and body, read Content-Type
// parameters, split multiparts and rewrite single headers WITHOUT touching
// any other byte. GMime (used for address parsing) re-serialises whole
// objects (folding, line endings), which would break signatures that must
// survive byte-identical (DESIGN.md invariant 7); these helpers therefore work
// on std::string_view slices of the original bytes.
//
// Hostile input: every function is bounded by MimeLimits and returns a
// specific error instead of recursing or allocating without limit.
//
// Threading: pure functions, no shared state.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/base64.h"
#include "common/result.h"

namespace sg::smime {

struct MimeLimits {
  size_t max_message_bytes = 64u << 20;  // whole message
  size_t max_header_bytes = 1u << 20;    // one header block (all fields)
  size_t max_header_fields = 2000;       // fields in one header block
  int max_depth = 32;                    // multipart / message nesting
  size_t max_parts = 10000;              // MIME parts in one message
};

struct HeaderField {
  std::string_view name;  // as written, e.g. "Content-Type"
  std::string_view raw;   // whole field including folds and its line ending
};

struct MimeEntity {
  std::vector<HeaderField> fields;
  std::string_view header_block;  // all fields, without the blank separator line
  std::string_view body;          // everything after the blank line
  bool has_separator = false;     // false: no blank line, body is empty
};

// Splits |bytes| (CRLF or LF line endings) into header fields and body.
Result<MimeEntity> ParseEntity(std::string_view bytes, const MimeLimits& limits);

// Unfolded, trimmed value of a field ("Name: value").
std::string FieldValue(const HeaderField& field);
bool NameIs(std::string_view name, std::string_view want);  // ASCII case-insensitive
bool IsContentField(std::string_view name);                 // "Content-*"
// First field named |name| (case-insensitive), or nullptr.
const HeaderField* FindField(const MimeEntity& entity, std::string_view name);

struct ContentType {
  std::string type = "text";                  // lower-case
  std::string subtype = "plain";              // lower-case
  std::map<std::string, std::string> params;  // names lower-case, values unquoted; first wins
  std::vector<std::string> duplicate_params;  // names given more than once (ambiguous)
  std::string Mime() const { return type + "/" + subtype; }
  std::string Param(const std::string& name) const;
};
ContentType ParseContentType(std::string_view value);
// Content-Type of an entity (RFC 2045 default text/plain when absent).
ContentType EntityContentType(const MimeEntity& entity);
// Signed and encrypted mail must not be ambiguous (issue 13 point 10): a
// second From, Subject or Content-Type field, or a Content-Type parameter
// given twice (boundary, protocol, smime-type, ...) would let the sender
// show one value to the gateway and another to the reader. Returns what is
// duplicated ("From", "Content-Type parameter boundary"), empty when nothing.
std::string AmbiguousField(const MimeEntity& entity);
// Lower-cased Content-Transfer-Encoding, "7bit" when absent.
std::string EntityTransferEncoding(const MimeEntity& entity);

struct Multipart {
  std::string_view preamble;            // without the line ending before the first delimiter
  bool has_preamble = false;            // the body did not start with the first delimiter
  std::vector<std::string_view> parts;  // bytes between delimiter lines, exact
  std::string_view epilogue;            // after the close delimiter line
  bool has_epilogue = false;            // the close delimiter line ended with a line break
  bool closed = false;                  // the close delimiter was seen
};
// Splits a multipart body on |boundary|. Each part excludes the line ending
// that precedes the next delimiter (RFC 2046 5.1.1: it belongs to the delimiter).
Result<Multipart> SplitMultipart(std::string_view body, std::string_view boundary,
                                 const MimeLimits& limits);

// Line endings -> CRLF (bare LF and bare CR both become CRLF).
std::string ToCrlf(std::string_view in);
bool IsCrlfClean(std::string_view in);  // no bare CR or LF

// Base64 with 76-column CRLF lines (RFC 2045) and the tolerant decoder:
// the tree's one implementation, in the mail library (its fast paths were
// written for this engine).
using mail::Base64Decode;
using mail::Base64Encode;
using mail::Base64EncodeAppend;
// Quoted-printable for canonical (CRLF) text: hard line breaks kept, lines
// folded at 76, trailing white space and "From " line starts encoded so no
// relay can alter them.
std::string QpEncode(std::string_view crlf_text);
std::string QpDecode(std::string_view in);

// Replaces the value of the first field |name| (or inserts the field before
// the blank line when absent). Every other byte of |message| is unchanged:
// this is how the worker tags the Subject of signed inbound mail.
Result<std::string> ReplaceHeader(std::string_view message, std::string_view name,
                                  std::string_view new_value, const MimeLimits& limits = {});

// One pass over the top-level header block, one copy of the message: every
// field named by an edit is dropped and the edit's values are written
// instead, each as "Name: value", at the place of the first dropped field
// when |in_place| (else, or when there was none, at the end of the block).
// Every other byte of |message| is unchanged. Values must be single lines.
struct FieldEdit {
  std::string_view name;
  std::vector<std::string> values;
  bool in_place = true;
};
Result<std::string> RewriteFields(std::string_view message, const std::vector<FieldEdit>& edits,
                                  const MimeLimits& limits = {});

// Prepends |tag| and a space to the Subject value ("Subject: |tag|" when
// there is none), changing no other byte of |message>: the existing value,
// its encoded words and its folding follow unchanged. A non-ASCII tag is
// written as an RFC 2047 encoded word (GMime). Tagging twice with the same
// tag is a no-op.
Result<std::string> TagSubject(std::string_view message, std::string_view tag,
                               const MimeLimits& limits = {});

// Lower-cased addr-spec of the first mailbox in a From-like header value,
// parsed with GMime. Empty when there is none.
std::string FirstMailbox(std::string_view header_value);

}  // namespace sg::smime
