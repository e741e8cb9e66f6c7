// DecideInbound: the inbound rule table (policy_decision.h).
#include "workers/policy/policy_decision.h"

namespace sg::workers {

std::string_view InboundActionName(InboundAction action) {
  switch (action) {
    case InboundAction::kPassed: return "passed";
    case InboundAction::kVerified: return "verified";
    case InboundAction::kDecrypted: return "decrypted";
    case InboundAction::kBounced: return "bounce";
    case InboundAction::kQuarantined: return "quarantined";
  }
  return "unknown";
}

std::string_view DsnVerdictName(DsnVerdict verdict) {
  switch (verdict) {
    case DsnVerdict::kSend: return "send";
    case DsnVerdict::kNotWanted: return "not-wanted";
    case DsnVerdict::kAlreadySent: return "already-sent";
    case DsnVerdict::kRateLimited: return "rate-limited";
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

void AddSignature(const InboundFacts& f, InboundDecision& d) {
  if (f.signature == SignatureVerdict::kNone) return;
  d.rules.push_back(SignatureRule(f.signature));
  d.marks += (d.marks.empty() ? "" : " ") + SignatureMark(f.signature);
}

// A mail that is not delivered: quarantine or bounce.
InboundDecision NotDelivered(const InboundFacts& f) {
  InboundDecision d;
  if (f.decryption == Decryption::kReplayed) {
    d.action = InboundAction::kQuarantined;
    d.rules = {{Rule::kContentKeyReplayed, {}}};
    return d;
  }
  d.action = InboundAction::kBounced;
  d.rules = {{Rule::kUndecryptable, {}}};
  d.status = "5.7.5";
  d.send_dsn = f.dsn == DsnVerdict::kSend;
  if (!d.send_dsn) d.rules.push_back({Rule::kDsnSuppressed, std::string(DsnVerdictName(f.dsn))});
  return d;
}

}  // namespace

InboundDecision DecideInbound(const InboundFacts& f) {
  if (f.decryption == Decryption::kReplayed || f.decryption == Decryption::kFailed) {
    return NotDelivered(f);
  }
  InboundDecision d;
  switch (f.decryption) {
    case Decryption::kNotOurs:
      d.action = f.signature == SignatureVerdict::kNone ? InboundAction::kPassed
                                                         : InboundAction::kVerified;
      d.rules = {{Rule::kEncryptedNotHosted, {}}};
      break;
    case Decryption::kDecrypted:
      d.action = InboundAction::kDecrypted;
      d.rules = {{f.auth_enveloped ? Rule::kDecryptedAuthEnveloped : Rule::kDecrypted, {}}};
      d.marks = "[secure]";
      break;
    default:
      if (f.signature != SignatureVerdict::kNone) {
        d.action = InboundAction::kVerified;
      } else {
        d.action = InboundAction::kPassed;
        d.rules = {f.other_smime.empty() ? RuleRef{Rule::kInboundNotSmime, {}}
                                         : RuleRef{Rule::kInboundSmime, f.other_smime}};
      }
      break;
  }
  AddSignature(f, d);
  if (f.forged_mark) d.rules.push_back({Rule::kForgedMarkRemoved, {}});
  if (f.forged_tag) d.rules.push_back({Rule::kForgedTagRemoved, {}});
  return d;
}

}  // namespace sg::workers
