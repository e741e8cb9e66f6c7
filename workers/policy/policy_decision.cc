#include "workers/policy/policy_decision.h"

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

std::string ForcedBy(const MessageFacts& m, const RecipientFacts& r) {
  if (m.sender_participates && m.tags.confidential) return "tag-confidential";
  if (m.sender_participates && m.company_confidential) return "sensitivity-confidential";
  if (r.rule != nullptr && r.rule->action == AdminRule::Action::kForceEncrypt) {
    return "admin-force:" + r.rule->match;
  }
  return {};
}

std::string ForcedWhy(const std::string& forced_by) {
  if (forced_by == "tag-confidential") return "the subject carries [confidential]";
  if (forced_by == "sensitivity-confidential") return "the message is marked Company-Confidential";
  return "an administrator rule requires encryption for this recipient";
}

}  // namespace

Decision DecideOutbound(const MessageFacts& m, const RecipientFacts& r, bool web_encryption) {
  Decision d;
  const bool participant = m.sender_participates;
  const bool sign = participant && !m.tags.nosign && !m.already_signed;
  const bool has_cert = r.personal_cert || r.domain_cert;
  const std::string forced_by = ForcedBy(m, r);

  if (m.already_encrypted) {
    d.form = Form::kUnchanged;
    d.rule = "already-encrypted";
    return d;
  }

  if (!forced_by.empty()) {
    if (!m.never_encrypt_part.empty() || !has_cert) {
      const std::string why =
          !m.never_encrypt_part.empty()
              ? "it contains " + m.never_encrypt_part + ", which is never encrypted"
              : "no certificate of the recipient or its domain is known";
      if (web_encryption) {
        d.form = Form::kWebEncryption;
        d.rule = forced_by + ",web-encryption";
        return d;
      }
      d.form = Form::kBounce;
      d.rule = forced_by + (m.never_encrypt_part.empty() ? ",no-certificate" : ",never-encrypt");
      d.reason = "The message must be encrypted (" + ForcedWhy(forced_by) + ") but cannot be: " +
                 why + ", and web encryption is not configured. It was not sent.";
      return d;
    }
    d.form = sign ? Form::kSignedEncrypted : Form::kEncrypted;
    d.domain_cert = !r.personal_cert;
    d.rule = forced_by + (r.personal_cert ? ",personal-cert" : ",domain-cert");
    return d;
  }

  if (participant && m.tags.plain) {
    d.form = Form::kUnchanged;
    d.rule = "tag-plain";
    return d;
  }

  bool encrypt = false;
  std::string enc_rule;
  if (participant && m.tags.noenc) {
    enc_rule = "tag-noenc";
  } else if (r.rule != nullptr && r.rule->action == AdminRule::Action::kExempt) {
    enc_rule = "admin-exempt:" + r.rule->match;
  } else if (!m.never_encrypt_part.empty() && has_cert) {
    enc_rule = "never-encrypt:" + m.never_encrypt_part;
  } else if (participant && r.personal_cert) {
    encrypt = true;
    enc_rule = "personal-cert";
  } else if (r.domain_cert && (!r.personal_cert || !participant)) {
    // Domain certificates serve every sender, participating or not.
    encrypt = true;
    enc_rule = "domain-cert";
    d.domain_cert = true;
  } else if (!participant && r.personal_cert) {
    enc_rule = "non-participating";  // personal certificates serve participating senders
  } else {
    enc_rule = "no-certificate";
  }

  if (encrypt) {
    d.form = sign ? Form::kSignedEncrypted : Form::kEncrypted;
    d.rule = enc_rule;
    return d;
  }
  if (sign) {
    d.form = Form::kSigned;
    d.rule = "participating," + enc_rule;
    return d;
  }
  d.form = Form::kUnchanged;
  if (!participant) {
    d.rule = "non-participating";
  } else if (m.tags.nosign) {
    d.rule = "tag-nosign," + enc_rule;
  } else {
    d.rule = "already-signed," + enc_rule;
  }
  return d;
}

}  // namespace sg::workers
