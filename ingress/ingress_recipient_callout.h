// Recipient verification by SMTP callout (ingress_recipient_verifier.h):
// ask the organisation's internal mail server whether it would accept
// RCPT TO:<address>, the way Postfix's reject_unverified_recipient does,
// then QUIT without sending a message.
//
//   connect, 220, EHLO (HELO if refused), MAIL FROM:<>, RCPT TO:<address>
//     2xx -> known, 5xx -> unknown, 4xx / refused / timeout / garbage -> unavailable
//
// The whole dialogue is bounded by `timeout` (connection included), so a
// hung internal server costs one pool thread that long, never more. The
// answer's text is never passed on to the client (one wording for every
// unknown recipient).
//
// Threading: Lookup is blocking and thread-safe (a connection per lookup);
// it runs on the recipient pool. Answers are cacheable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ingress/ingress_recipient_verifier.h"

namespace sg::ingress {

struct CalloutConfig {
  std::string host;  // name or numeric address of the internal server
  uint16_t port = 25;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::string helo = "localhost";  // our name in EHLO
};

class CalloutSource : public RecipientSource {
 public:
  explicit CalloutSource(CalloutConfig config) : config_(std::move(config)) {}
  std::string Name() const override { return "callout"; }
  RecipientStatus Lookup(const std::string& address) override;
  bool Cacheable() const override { return true; }

 private:
  CalloutConfig config_;
};

}  // namespace sg::ingress
