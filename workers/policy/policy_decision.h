// The outbound rules of the product as one pure function: what happens to a
// message for one recipient, and which rule decided it.
//
// Kept free of I/O and crypto so the rule table can be tested exhaustively
// (tests/workers/policy/policy_decision_test.cc); PolicyProcessor gathers
// the facts (keyservice, subject, content) and applies the decision.
//
// Precedence (first match wins), for a recipient R of a message from S:
//   1. "Must be encrypted" (forced) is: [confidential] or Sensitivity:
//      Company-Confidential from a participating S, or an admin
//      force_encrypt rule for R (any sender: the admin's compliance rule).
//      Forced wins over [plain], [noenc] and exempt rules: a message that
//      must be encrypted is never sent in clear. Forced with a calendar /
//      TNEF part, or without any certificate for R: web encryption when
//      configured, else bounce to S with the reason.
//   2. [plain] from a participating S: delivered unchanged (tag removed).
//   3. Encryption (not forced): R's own certificate, else R's domain
//      certificate; not with [noenc], not with an exempt rule for R, not
//      with a calendar / TNEF part. A non-participating S encrypts only to
//      domain certificates.
//   4. Signing: participating S, unless [nosign] (or the message is
//      already signed by the client).
//   Nothing to do: passed unchanged.
//
// Threading: pure functions.
#pragma once

#include <string>

#include "workers/policy/policy_config.h"
#include "workers/policy/policy_subject.h"

namespace sg::workers {

enum class Form {
  kUnchanged,      // delivered as received (subject tags removed)
  kSigned,
  kEncrypted,      // encrypted only (non-participating sender, [nosign], pre-signed)
  kSignedEncrypted,
  kWebEncryption,  // to the portal (only when configured; it is not built yet)
  kBounce,         // returned to the sender with a DSN; nothing delivered
};
std::string_view FormName(Form form);

// Facts about the message, the same for every recipient.
struct MessageFacts {
  bool sender_participates = false;  // and the From header is the envelope sender
  SubjectTags tags;                  // from the subject (only honoured for participants)
  bool company_confidential = false; // Sensitivity: Company-Confidential
  std::string never_encrypt_part;    // "text/calendar" ... ; empty when none
  bool already_signed = false;       // the client signed it (S/MIME)
  bool already_encrypted = false;    // the client encrypted it (S/MIME)
};

// Facts about one recipient.
struct RecipientFacts {
  bool personal_cert = false;  // a valid certificate of R itself
  bool domain_cert = false;    // a valid domain certificate of R's domain (R may have its own too)
  const AdminRule* rule = nullptr;
};

struct Decision {
  Form form = Form::kUnchanged;
  std::string rule;    // the rule that decided it ("personal-cert", "tag-noenc", ...)
  std::string reason;  // for a bounce: the sentence the sender reads
  bool domain_cert = false;  // encrypted with the domain certificate
};

Decision DecideOutbound(const MessageFacts& message, const RecipientFacts& recipient,
                        bool web_encryption);

}  // namespace sg::workers
