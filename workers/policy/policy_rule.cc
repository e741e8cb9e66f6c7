#include "workers/policy/policy_rule.h"

namespace sg::workers {

std::string_view RuleName(Rule rule) {
  switch (rule) {
    case Rule::kAlreadyEncrypted: return "already-encrypted";
    case Rule::kTagConfidential: return "tag-confidential";
    case Rule::kSensitivityConfidential: return "sensitivity-confidential";
    case Rule::kAdminForce: return "admin-force";
    case Rule::kWebEncryption: return "web-encryption";
    case Rule::kNoCertificate: return "no-certificate";
    case Rule::kNeverEncrypt: return "never-encrypt";
    case Rule::kTagPlain: return "tag-plain";
    case Rule::kTagNoenc: return "tag-noenc";
    case Rule::kAdminExempt: return "admin-exempt";
    case Rule::kPersonalCert: return "personal-cert";
    case Rule::kDomainCert: return "domain-cert";
    case Rule::kNonParticipating: return "non-participating";
    case Rule::kParticipating: return "participating";
    case Rule::kTagNosign: return "tag-nosign";
    case Rule::kAlreadySigned: return "already-signed";
    case Rule::kNoSigningIdentity: return "no-signing-identity";
    case Rule::kFromMismatch: return "from-mismatch";
    case Rule::kInboundNotSmime: return "inbound-not-smime";
    case Rule::kInboundSmime: return "inbound-smime";
    case Rule::kForgedMarkRemoved: return "forged-mark-removed";
    case Rule::kForgedTagRemoved: return "forged-tag-removed";
    case Rule::kSignatureGood: return "signature-good";
    case Rule::kSignatureInvalid: return "signature-invalid";
    case Rule::kEncryptedNotHosted: return "encrypted-not-hosted";
    case Rule::kDecrypted: return "decrypted";
    case Rule::kDecryptedAuthEnveloped: return "decrypted-authenveloped";
    case Rule::kUndecryptable: return "undecryptable";
    case Rule::kDsnSuppressed: return "dsn-suppressed";
    case Rule::kContentKeyReplayed: return "content-key-replayed";
  }
  return "unknown";
}

std::string RulesText(const std::vector<RuleRef>& rules) {
  std::string out;
  for (const RuleRef& r : rules) {
    if (!out.empty()) out += ',';
    out += RuleName(r.rule);
    if (!r.detail.empty()) {
      out += ':';
      out += r.detail;
    }
  }
  return out;
}

}  // namespace sg::workers
