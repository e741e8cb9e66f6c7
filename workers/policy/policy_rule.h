// The names of the policy's rules: which rule decided what happened to a
// message for one recipient.
//
// A decision names one or more rules (the rule that decided, then the
// qualifiers: "admin-force:partner.example,personal-cert"). Each rule is an
// enum value with one fixed string form, used in the log line, the
// ProcessingNote and the docs (docs/policy.md lists them). Rules that refer
// to a configured or found thing carry it as `detail` ("admin-force" +
// "partner.example" -> "admin-force:partner.example").
//
// Threading: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sg::workers {

enum class Rule {
  // Outbound (DecideOutbound, in precedence order).
  kAlreadyEncrypted,         // the client encrypted it: passed unchanged
  kTagConfidential,          // [confidential] forces encryption
  kSensitivityConfidential,  // Sensitivity: Company-Confidential forces encryption
  kAdminForce,               // an admin force_encrypt rule (detail: its match)
  kWebEncryption,            // forced, no way to encrypt: web encryption
  kNoCertificate,            // no certificate of the recipient or its domain
  kNeverEncrypt,             // a calendar / TNEF part (detail: its type, when not forced)
  kTagPlain,                 // [plain]: delivered unchanged
  kTagNoenc,                 // [noenc]: not encrypted
  kAdminExempt,              // an admin exempt rule (detail: its match)
  kPersonalCert,             // encrypted to the recipient's own certificate
  kDomainCert,               // encrypted to the recipient domain's certificate
  kNonParticipating,         // the sender does not participate
  kParticipating,            // signed for a participating sender
  kTagNosign,                // [nosign]: not signed
  kAlreadySigned,            // the client signed it: not signed again
  kNoSigningIdentity,        // a participant without a certificate now (the CA; workers.ca_wait)
  kFromMismatch,             // From is not the envelope sender: not signed
  // Inbound (DecideInbound).
  kInboundNotSmime,          // no S/MIME: passed
  kInboundSmime,             // an S/MIME kind we do not open (detail: the kind)
  kForgedMarkRemoved,        // a mark only the gateway may set was removed
  kForgedTagRemoved,         // a steering tag ([plain], [noenc], ...) was removed
  kSignatureGood,            // every signature layer verified
  kSignatureInvalid,         // a signature layer did not verify
  kEncryptedNotHosted,       // encrypted to a user with their own key: passed
  kDecrypted,                // decrypted (EnvelopedData)
  kDecryptedAuthEnveloped,   // decrypted (AuthEnvelopedData, AES-GCM)
  kUndecryptable,            // cannot be decrypted for this recipient: bounced
  kDsnSuppressed,            // undecryptable, and no DSN (detail: why)
  kContentKeyReplayed,       // a content key seen before with other ciphertext: quarantined
};

// The fixed string form ("tag-confidential", "decrypted-authenveloped", ...).
std::string_view RuleName(Rule rule);

struct RuleRef {
  Rule rule;
  std::string detail;  // appended as ":detail" when not empty
};

// "admin-force:partner.example,personal-cert"
std::string RulesText(const std::vector<RuleRef>& rules);

}  // namespace sg::workers
