// DecideInbound: the inbound rule table (policy_decision.h).
#include "workers/policy/policy_decision.h"

namespace sg::workers {

std::string_view InboundActionName(InboundAction action) {
  switch (action) {
    case InboundAction::kPassed: return "passed";
    case InboundAction::kVerified: return "verified";
    case InboundAction::kDecrypted: return "decrypted";
    case InboundAction::kBounced: return "bounce";
  }
  return "unknown";
}

namespace {

RuleRef SignatureRule(SignatureVerdict v) {
  return {v == SignatureVerdict::kGood ? Rule::kSignatureGood : Rule::kSignatureInvalid, {}};
}

std::string SignatureMark(SignatureVerdict v) {
  return v == SignatureVerdict::kGood ? "[signed OK]" : "[signed INVALID]";
}

}  // namespace

InboundDecision DecideInbound(const InboundFacts& f) {
  InboundDecision d;
  const bool signed_msg = f.signature != SignatureVerdict::kNone;
  switch (f.decryption) {
    case Decryption::kFailed:
      d.action = InboundAction::kBounced;
      d.rules = {{Rule::kUndecryptable, {}}};
      d.status = "5.7.5";
      return d;
    case Decryption::kNotOurs:
      d.action = InboundAction::kPassed;
      d.rules = {{Rule::kEncryptedNotHosted, {}}};
      return d;
    case Decryption::kDecrypted:
      d.action = InboundAction::kDecrypted;
      d.rules = {{f.auth_enveloped ? Rule::kDecryptedAuthEnveloped : Rule::kDecrypted, {}}};
      d.marks = "[secure]";
      if (signed_msg) {
        d.rules.push_back(SignatureRule(f.signature));
        d.marks += " " + SignatureMark(f.signature);
      }
      return d;
    case Decryption::kNone:
      break;
  }
  if (signed_msg) {
    d.action = InboundAction::kVerified;
    d.rules = {SignatureRule(f.signature)};
    d.marks = SignatureMark(f.signature);
    return d;
  }
  d.action = InboundAction::kPassed;
  d.rules = {f.other_smime.empty() ? RuleRef{Rule::kInboundNotSmime, {}}
                                   : RuleRef{Rule::kInboundSmime, f.other_smime}};
  if (f.forged_mark) d.rules.push_back({Rule::kForgedMarkRemoved, {}});
  return d;
}

}  // namespace sg::workers
