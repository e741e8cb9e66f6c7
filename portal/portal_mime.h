// Reading a stored message for the inbox (GMime): its headers, the text and
// HTML bodies (converted to UTF-8), and every other part as an attachment;
// and writing a recipient's reply as an RFC 5322 message.
//
// Hostile input: a message that GMime cannot parse still opens (no body,
// the original downloadable); nesting and part counts are bounded.
//
// Threading: pure functions (GMime is initialised once, thread-safe).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "proto/portal.pb.h"

namespace sg::portal {

struct Attachment {
  size_t index = 0;          // position in the message: the URL names it
  std::string filename;      // never empty ("attachment-3.bin" when the message gives none)
  std::string content_type;  // "application/pdf"
  std::string content_id;    // without angle brackets; empty when none
  std::string data;          // decoded
};

struct ParsedMessage {
  smimegate::portal::v1::Summary summary;
  std::string reply_to;      // Reply-To, else From (address only)
  std::string text;          // UTF-8; empty when none
  std::string html;          // UTF-8, unsanitised; empty when none
  std::vector<Attachment> attachments;
};

struct MimeReadLimits {
  size_t max_depth = 20;
  size_t max_parts = 500;
};

// Never fails: what cannot be read is left out.
ParsedMessage ParseForPortal(const std::string& message, const MimeReadLimits& limits = {});

struct ReplyDraft {
  std::string from;                 // the portal user (address)
  std::vector<std::string> to;      // internal addresses only (the caller checks)
  std::vector<std::string> cc;
  std::string subject;              // as typed; line breaks removed
  std::string body;                 // UTF-8 text
  std::string in_reply_to;          // Message-ID of the original (with angle brackets)
  std::string portal_name;          // for the X-Smimegate-Portal header
  std::string message_id_domain;    // right side of the new Message-ID
  int64_t date_unix = 0;
};

// The reply as CRLF text, marked "X-Smimegate-Portal: reply" (the policy
// and the internal reader can tell it came from the portal). Header values
// are encoded by GMime (RFC 2047), so nothing typed can add a header.
Result<std::string> BuildReply(const ReplyDraft& draft);

// The addresses of an address-list header value ("A <a@x>, b@y").
std::vector<std::string> ParseAddressList(const std::string& value);

void InitMime();

}  // namespace sg::portal
