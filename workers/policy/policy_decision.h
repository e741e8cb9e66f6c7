// The rules of the product as two pure functions: what happens to a message
// for one recipient, and which rules decided it.
//
// Kept free of I/O and crypto so the rule tables can be tested directly
// (tests/workers/policy/policy_decision_test.cc); PolicyProcessor gathers
// the facts (keyservice, subject, content, the unwrapped S/MIME layers),
// calls these, and emits the forms the decisions name.
//
// Outbound precedence (first match wins), for a recipient R of a message from S:
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
//      already signed by the client, or S has no certificate now: the CA
//      refused or did not answer within workers.ca_wait).
//   Nothing to do: passed unchanged.
//
// Inbound (DecideInbound), for a recipient R of a message from the internet:
//   1. A content key seen before with other ciphertext: quarantined, no DSN
//      (the padding-oracle / EFAIL pattern; issue 13 point 1).
//   2. An encrypted layer R's keys could not open: bounced, nothing
//      delivered to R; a DSN 5.7.5 to the sender with one fixed wording,
//      unless the sender asked for none, already had one for this content
//      key, or its domain reached the DSN rate limit.
//   3. Encrypted to a user who keeps their own key (R has no keys at the
//      gateway and does not participate): passed as received (marked when
//      an outer signature was verified).
//   4. Decrypted: delivered decrypted, marked [secure] (+ the signature mark).
//   5. Signed (not encrypted to us): delivered as received, marked.
//   6. Anything else: passed.
//   The signature mark is [signed OK] only when every signature layer
//   verified (the weakest layer decides). Forged marks and steering tags are
//   removed from every delivered Subject.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <vector>

#include "workers/policy/policy_config.h"
#include "workers/policy/policy_rule.h"
#include "workers/policy/policy_subject.h"

namespace sg::workers {

// ---------------------------------------------------------------- outbound

enum class Form {
  kUnchanged,      // delivered as received (subject tags removed)
  kSigned,
  kEncrypted,      // encrypted only (non-participating sender, [nosign], pre-signed)
  kSignedEncrypted,
  kWebEncryption,  // to the portal (policy.web_encryption, needs portal.enabled)
  kBounce,         // returned to the sender with a DSN; nothing delivered
};
std::string_view FormName(Form form);

// Facts about the message, the same for every recipient.
struct MessageFacts {
  bool sender_participates = false;  // and the From header is the envelope sender
  // A participant who has no certificate to sign with now (a first
  // certificate the CA refused, or did not issue within workers.ca_wait):
  // still a participant for tags and encryption, but nothing is signed.
  bool no_signing_identity = false;
  bool from_mismatch = false;        // a participating sender, but From names someone else
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
  std::vector<RuleRef> rules;  // the rules that decided it, for logs
  std::string reason;          // for a bounce: the sentence the sender reads
  bool domain_cert = false;    // encrypted with the domain certificate
  std::string RuleText() const { return RulesText(rules); }
};

Decision DecideOutbound(const MessageFacts& message, const RecipientFacts& recipient,
                        bool web_encryption);

// ----------------------------------------------------------------- inbound

// What became of the encrypted layers for one recipient.
enum class Decryption {
  kNone,       // no encrypted layer
  kDecrypted,  // the encrypted layers met were opened
  kNotOurs,    // encrypted, and the recipient keeps their own key (no keys here, not participating)
  kFailed,     // an encrypted layer could not be opened with the recipient's keys
  kReplayed,   // its content key was seen before with other ciphertext (an attack): not decrypted
};

enum class SignatureVerdict {
  kNone,     // not signed (at any layer that was looked at)
  kGood,     // every signature layer verified
  kInvalid,  // a signature layer did not verify
};

// Whether a failure DSN may go to the sender (asked only for kFailed).
enum class DsnVerdict {
  kSend,
  kNotWanted,    // null sender, or NOTIFY without FAILURE
  kAlreadySent,  // one went to this sender for this content key already
  kRateLimited,  // the sender's domain had its share of failure DSNs
};
std::string_view DsnVerdictName(DsnVerdict verdict);

// Facts about one inbound message for one recipient, gathered by the
// processor (unwrapping, keyservice, the failure guard).
struct InboundFacts {
  Decryption decryption = Decryption::kNone;
  bool auth_enveloped = false;          // every decrypted layer was AuthEnvelopedData
  SignatureVerdict signature = SignatureVerdict::kNone;
  std::string other_smime;              // an S/MIME kind not opened ("compressed"); empty otherwise
  bool forged_mark = false;             // the Subject carries a mark only the gateway may set
  bool forged_tag = false;              // ... or a steering tag ([plain], [noenc], ...)
  DsnVerdict dsn = DsnVerdict::kSend;
};

enum class InboundAction {
  kPassed,       // delivered as received (only forged marks and tags removed)
  kVerified,     // delivered as received, marked from the signature
  kDecrypted,    // delivered decrypted, marked [secure]
  kBounced,      // not delivered; a DSN to the sender when send_dsn
  kQuarantined,  // not delivered, no DSN: kept for the admin with the reason
};
std::string_view InboundActionName(InboundAction action);

struct InboundDecision {
  InboundAction action = InboundAction::kPassed;
  std::vector<RuleRef> rules;
  std::string marks;      // "[secure] [signed OK]"; empty: no mark
  std::string status;     // RFC 3463 status of a bounce ("5.7.5")
  bool send_dsn = false;  // a bounce with a DSN
  std::string RuleText() const { return RulesText(rules); }
};

InboundDecision DecideInbound(const InboundFacts& facts);

}  // namespace sg::workers
