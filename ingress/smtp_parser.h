// SMTP command-line parser (RFC 5321 section 4.1, with the parameters of
// RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN,
// RFC 3030 CHUNKING and RFC 4954 AUTH).
//
// Pure: a line in (without its CRLF), a Command or the exact error Reply
// out. No state and no policy: whether a command is allowed now, or an
// address is acceptable, is the session's business (smtp_session.h).
//
// Leniencies, each because deployed clients need it: verbs and keywords are
// case-insensitive; "MAIL FROM: <a@b>" (space after the colon) is accepted;
// source routes ("<@a,@b:u@c>") are accepted and dropped (RFC 5321 C.).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/mail/address.h"
#include "common/mail/smtp_reply.h"

namespace sg::ingress {

// Replies and UTF-8 validation come from the shared mail library.
using mail::IsValidUtf8;
using mail::MakeReply;
using mail::Reply;

enum class Verb {
  kHelo, kEhlo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kVrfy, kExpn,
  kHelp, kStartTls, kAuth,
};

enum class Body { kUnspecified, k7Bit, k8BitMime };
enum class Ret { kUnspecified, kFull, kHdrs };

struct Notify {
  bool given = false;
  bool never = false, success = false, failure = false, delay = false;
};

struct Path {
  std::string address;     // "user@example.org", no brackets; empty for <>
  bool null = false;       // the null reverse-path <>
  bool non_ascii = false;  // needs SMTPUTF8
};

struct MailParams {
  std::optional<uint64_t> size;
  Body body = Body::kUnspecified;
  bool smtputf8 = false;
  Ret ret = Ret::kUnspecified;
  std::string envid;       // xtext-decoded
  std::string auth;        // RFC 4954 AUTH= value, xtext-decoded (informational)
};

struct RcptParams {
  Notify notify;
  std::string orcpt;       // "rfc822;user@example.org", xtext-decoded
};

struct Command {
  Verb verb = Verb::kNoop;
  std::string argument;    // HELO/EHLO domain, VRFY/HELP/NOOP text, AUTH mechanism
  std::string initial_response;  // AUTH initial response ("" when absent, "=" kept)
  bool has_initial_response = false;
  Path path;               // MAIL / RCPT
  MailParams mail;
  RcptParams rcpt;
  uint64_t bdat_size = 0;
  bool bdat_last = false;
};

// Either the command or the reply to send for a malformed line.
using ParseResult = std::variant<Command, Reply>;

// Parses one command line (CRLF already removed).
ParseResult ParseCommand(std::string_view line);

// Parses "<...>" as an RFC 5321 path. allow_null permits "<>".
// Postmaster without a domain is accepted when allow_postmaster is true.
std::optional<Path> ParsePath(std::string_view text, bool allow_null, bool allow_postmaster);

// RFC 3461 xtext decoding; nullopt on a malformed value.
std::optional<std::string> DecodeXtext(std::string_view text);

}  // namespace sg::ingress
