#include "workers/policy/policy_decision.h"

#include <optional>

namespace sg::workers {

std::string_view FormName(Form form) {
  switch (form) {
    case Form::kUnchanged: return "unchanged";
    case Form::kSigned: return "signed";
    case Form::kEncrypted: return "encrypted";
    case Form::kSignedEncrypted: return "signed+encrypted";
    case Form::kWebEncryption: return "web-encryption";
    case Form::kBounce: return "bounce";
  }
  return "unknown";
}

namespace {

// The rule that forces encryption, if any.
std::optional<RuleRef> ForcedBy(const MessageFacts& m, const RecipientFacts& r) {
  if (m.sender_participates && m.tags.confidential) return RuleRef{Rule::kTagConfidential, {}};
  if (m.sender_participates && m.company_confidential) {
    return RuleRef{Rule::kSensitivityConfidential, {}};
  }
  if (r.rule != nullptr && r.rule->action == AdminRule::Action::kForceEncrypt) {
    return RuleRef{Rule::kAdminForce, r.rule->match};
  }
  return std::nullopt;
}

std::string ForcedWhy(Rule forced_by) {
  if (forced_by == Rule::kTagConfidential) return "the subject carries [confidential]";
  if (forced_by == Rule::kSensitivityConfidential) {
    return "the message is marked Company-Confidential";
  }
  return "an administrator rule requires encryption for this recipient";
}

Decision Forced(const MessageFacts& m, const RecipientFacts& r, const RuleRef& forced_by,
                bool sign, bool web_encryption) {
  Decision d;
  const bool has_cert = r.personal_cert || r.domain_cert;
  if (m.never_encrypt_part.empty() && has_cert) {
    d.form = sign ? Form::kSignedEncrypted : Form::kEncrypted;
    d.domain_cert = !r.personal_cert;
    d.rules = {forced_by, {r.personal_cert ? Rule::kPersonalCert : Rule::kDomainCert, {}}};
    return d;
  }
  if (web_encryption) {
    d.form = Form::kWebEncryption;
    d.rules = {forced_by, {Rule::kWebEncryption, {}}};
    return d;
  }
  const bool never = !m.never_encrypt_part.empty();
  const std::string why = never ? "it contains " + m.never_encrypt_part + ", which is never encrypted"
                                : "no certificate of the recipient or its domain is known";
  d.form = Form::kBounce;
  d.rules = {forced_by, {never ? Rule::kNeverEncrypt : Rule::kNoCertificate, {}}};
  d.reason = "The message must be encrypted (" + ForcedWhy(forced_by.rule) + ") but cannot be: " +
             why + ", and web encryption is not configured. It was not sent.";
  return d;
}

// Rule 3: whether R's certificate is used, and the rule that says so.
RuleRef EncryptionRule(const MessageFacts& m, const RecipientFacts& r, bool& encrypt,
                       bool& domain_cert) {
  const bool participant = m.sender_participates;
  const bool has_cert = r.personal_cert || r.domain_cert;
  encrypt = false;
  if (participant && m.tags.noenc) return {Rule::kTagNoenc, {}};
  if (r.rule != nullptr && r.rule->action == AdminRule::Action::kExempt) {
    return {Rule::kAdminExempt, r.rule->match};
  }
  if (!m.never_encrypt_part.empty() && has_cert) return {Rule::kNeverEncrypt, m.never_encrypt_part};
  if (participant && r.personal_cert) {
    encrypt = true;
    return {Rule::kPersonalCert, {}};
  }
  if (r.domain_cert && (!r.personal_cert || !participant)) {
    // Domain certificates serve every sender, participating or not.
    encrypt = true;
    domain_cert = true;
    return {Rule::kDomainCert, {}};
  }
  // Personal certificates serve participating senders only.
  if (!participant && r.personal_cert) return {Rule::kNonParticipating, {}};
  return {Rule::kNoCertificate, {}};
}

}  // namespace

Decision DecideOutbound(const MessageFacts& m, const RecipientFacts& r, bool web_encryption) {
  Decision d;
  const bool participant = m.sender_participates;
  const bool sign = participant && !m.tags.nosign && !m.already_signed && !m.no_signing_identity;

  if (m.already_encrypted) {
    d.rules = {{Rule::kAlreadyEncrypted, {}}};
    return d;
  }
  if (auto forced_by = ForcedBy(m, r)) return Forced(m, r, *forced_by, sign, web_encryption);
  if (participant && m.tags.plain) {
    d.rules = {{Rule::kTagPlain, {}}};
    return d;
  }

  bool encrypt = false;
  const RuleRef enc_rule = EncryptionRule(m, r, encrypt, d.domain_cert);
  if (encrypt) {
    d.form = sign ? Form::kSignedEncrypted : Form::kEncrypted;
    d.rules = {enc_rule};
    return d;
  }
  if (sign) {
    d.form = Form::kSigned;
    d.rules = {{Rule::kParticipating, {}}, enc_rule};
    return d;
  }
  d.form = Form::kUnchanged;
  if (!participant) {
    d.rules = {{m.from_mismatch ? Rule::kFromMismatch : Rule::kNonParticipating, {}}};
  } else if (m.tags.nosign) {
    d.rules = {{Rule::kTagNosign, {}}, enc_rule};
  } else if (m.no_signing_identity) {
    d.rules = {{Rule::kNoSigningIdentity, {}}, enc_rule};
  } else {
    d.rules = {{Rule::kAlreadySigned, {}}, enc_rule};
  }
  return d;
}

}  // namespace sg::workers
