// Turns an accepted SMTP transaction into the queue record: a unique message
// id, the Received: header (with TLS details) and the smimegate.v1.Envelope.
//
// Threading: MessageIdGenerator implementations are thread-safe; the rest
// are pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/date.h"
#include "ingress/smtp_parser.h"
#include "ingress/smtp_session_state.h"
#include "proto/envelope.pb.h"

namespace sg::ingress {

class MessageIdGenerator {
 public:
  virtual ~MessageIdGenerator() = default;
  // A gateway-unique id, safe in headers, file names and queue keys.
  virtual std::string Next() = 0;
};

// ULID-style ids: 48 bits of milliseconds + 80 random bits, Crockford
// base32, 26 characters, sortable by time. Random bits come from OpenSSL.
class UlidGenerator : public MessageIdGenerator {
 public:
  std::string Next() override;
  static std::string Encode(uint64_t ms, const uint8_t random[10]);
};

struct AcceptedRecipient {
  Path path;
  RcptParams params;
};

struct Transaction {
  Path from;
  MailParams params;
  std::vector<AcceptedRecipient> recipients;
};

// "Received: from helo ([ip]) by host (smimegate) with ESMTPS id X\r\n ..."
// ending in CRLF. `now_ms` is the wall clock in unix milliseconds.
std::string BuildReceivedHeader(const SessionState& s, const Transaction& tx,
                                const std::string& id, int64_t now_ms);

// The RFC 5322 date ("Sat, 28 Nov 2026 19:30:00 +0000"), from the mail library.
using mail::Rfc5322Date;

// The Message-ID header field value from the header section, trimmed and
// unfolded; empty when absent.
std::string FindHeaderMessageId(std::string_view message);

smimegate::v1::MessageRecord BuildRecord(const SessionState& s, const Transaction& tx,
                                         const std::string& id, int64_t now_ms,
                                         std::string message);

}  // namespace sg::ingress
