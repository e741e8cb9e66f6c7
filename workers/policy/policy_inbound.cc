// PolicyProcessor, inbound: gather the facts (S/MIME layers opened with
// each recipient's keys), DecideInbound per recipient, emit the forms
// (policy_processor.h).
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "egress/egress_dsn.h"
#include "workers/policy/policy_decision.h"
#include "workers/policy/policy_emit.h"
#include "workers/policy/policy_processor.h"
#include "workers/policy/policy_subject.h"
#include "workers/smime/smime_detect.h"

namespace sg::workers {
namespace v1 = smimegate::v1;
namespace {

std::string CertDer(const X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

// keyservice::HarvestOutcomeName lives in sg_keyservice, which the policy
// does not link (it only talks to the KeyService interface).
std::string OutcomeName(keyservice::HarvestOutcome o) {
  switch (o) {
    case keyservice::HarvestOutcome::kStored: return "stored";
    case keyservice::HarvestOutcome::kUnchanged: return "unchanged";
    case keyservice::HarvestOutcome::kPending: return "pending";
    case keyservice::HarvestOutcome::kRejected: return "rejected";
  }
  return "unknown";
}

bool IsEncrypted(smime::SmimeKind k) {
  return k == smime::SmimeKind::kEnveloped || k == smime::SmimeKind::kAuthEnveloped;
}
bool IsSigned(smime::SmimeKind k) {
  return k == smime::SmimeKind::kSignedDetached || k == smime::SmimeKind::kSignedOpaque;
}

// Marks are the gateway's word: any the sender wrote are removed first.
Result<std::string> Mark(const std::string& message, const std::string& marks) {
  std::string subject = GetSubject(message).value_or("");
  if (auto stripped = StripForgedMarks(subject)) subject = *stripped;
  if (marks.empty()) return SetSubject(message, subject);
  return SetSubject(message, MarkSubject(marks, subject));
}

}  // namespace

// One recipient of an encrypted message: what its keys opened.
struct PolicyProcessor::InboundRecipient {
  v1::Recipient rcpt;
  std::string addr;     // lower-case
  InboundFacts facts;
  std::string message;  // the decrypted message (kDecrypted)
  std::string error;    // why it could not be decrypted (logs only)
};

Result<bool> PolicyProcessor::VerifyAndHarvest(std::string_view message,
                                               const std::string& message_id) {
  SG_ASSIGN_OR_RETURN(auto trust, Trust());
  const std::time_t now = static_cast<std::time_t>(clock_() / 1000);
  smime::VerifyOptions options;
  options.check_from_address = smime_config_.check_from_address;
  auto verified = engine_.Verify(message, trust, now, options);
  if (!verified.ok()) {
    metrics_.Verified("error");
    spdlog::info("policy message_id={} verify: {}", message_id, verified.error().ToString());
    return false;
  }
  const auto status_name = std::string(smime::VerifyStatusName(verified->status));
  metrics_.Verified(status_name);
  const bool good = verified->status == smime::VerifyStatus::kGood;
  // Harvest from an intact signature only; the keyservice judges trust
  // (untrusted certificates are kept pending for the admin).
  const bool intact = good || verified->status == smime::VerifyStatus::kUntrusted;
  if (intact && verified->signer && !verified->from_address.empty()) {
    keyservice::HarvestRequest req;
    req.address = verified->from_address;
    req.certificate_der = CertDer(verified->signer.get());
    req.capabilities = verified->capabilities.algorithms;
    for (const auto& c : verified->certificates) {
      if (X509_cmp(c.get(), verified->signer.get()) != 0) req.chain_der.push_back(CertDer(c.get()));
    }
    auto harvested = keys_.HarvestCertificate(req);
    if (harvested.ok()) {
      metrics_.Harvest(OutcomeName(harvested->outcome));
      spdlog::info("policy message_id={} harvest signer=<{}> outcome={} {}", message_id,
                   req.address, OutcomeName(harvested->outcome), harvested->reason);
    } else {
      // The message is still delivered; the next signed message harvests again.
      metrics_.Harvest("error");
      spdlog::warn("policy message_id={} harvest signer=<{}> failed: {}", message_id, req.address,
                   harvested.error().ToString());
    }
  }
  spdlog::info("policy message_id={} verify status={} signer=<{}>{}", message_id, status_name,
               verified->from_address, verified->detail.empty() ? "" : " detail=" + verified->detail);
  return good;
}

Result<PolicyProcessor::InboundRecipient> PolicyProcessor::GatherInbound(
    const v1::MessageRecord& record, const v1::Recipient& rcpt) {
  InboundRecipient r;
  r.rcpt = rcpt;
  r.addr = LowerAscii(rcpt.address());
  SG_ASSIGN_OR_RETURN(auto keys, keys_.GetDecryptionKeys(r.addr));
  if (keys.empty()) {
    SG_ASSIGN_OR_RETURN(bool participates, keys_.Participates(r.addr));
    if (!participates) {
      // Not ours to decrypt: end-to-end encryption to a user who keeps
      // their own key.
      r.facts.decryption = Decryption::kNotOurs;
      return r;
    }
  }
  const std::vector<smime::KeyPair> pairs = DecryptionPairs(keys);
  std::string current = record.message();
  int layers = 0;
  while (IsEncrypted(smime::DetectSmime(current))) {
    if (layers == config_.max_layers) {
      r.error = "more than " + std::to_string(config_.max_layers) + " layers of encryption";
      break;
    }
    auto dec = engine_.Decrypt(current, pairs);
    if (!dec.ok()) {
      r.error = dec.error().code == ErrorCode::kNotFound
                    ? "no key of the recipient matches the message"
                    : "the message cannot be decrypted (" + dec.error().message + ")";
      break;
    }
    r.facts.auth_enveloped = dec->auth_enveloped;
    current = std::move(dec->message);
    ++layers;
  }
  if (!r.error.empty()) {
    r.facts.decryption = Decryption::kFailed;
    return r;
  }
  r.facts.decryption = Decryption::kDecrypted;
  if (IsSigned(smime::DetectSmime(current))) {
    SG_ASSIGN_OR_RETURN(bool good, VerifyAndHarvest(current, record.envelope().message_id()));
    r.facts.signature = good ? SignatureVerdict::kGood : SignatureVerdict::kInvalid;
  }
  r.message = std::move(current);
  return r;
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::ProcessInbound(
    const v1::MessageRecord& record) {
  const smime::SmimeKind kind = smime::DetectSmime(record.message());
  if (IsEncrypted(kind)) return InboundPerRecipient(record);
  return InboundShared(record, kind);
}

// Not encrypted: the same for every recipient, one shared form.
Result<std::vector<v1::MessageRecord>> PolicyProcessor::InboundShared(
    const v1::MessageRecord& record, smime::SmimeKind kind) {
  const auto& env = record.envelope();
  const std::string& message = record.message();
  InboundFacts facts;
  if (IsSigned(kind)) {
    SG_ASSIGN_OR_RETURN(bool good, VerifyAndHarvest(message, env.message_id()));
    facts.signature = good ? SignatureVerdict::kGood : SignatureVerdict::kInvalid;
  } else if (kind != smime::SmimeKind::kNone) {
    facts.other_smime = std::string(smime::SmimeKindName(kind));
  }
  facts.forged_mark = StripForgedMarks(GetSubject(message).value_or("")).has_value();
  const InboundDecision d = DecideInbound(facts);
  std::string out_msg = message;
  if (!d.marks.empty() || facts.forged_mark) {
    // Only the Subject changes: a signature stays valid (invariant 7).
    SG_ASSIGN_OR_RETURN(out_msg, Mark(message, d.marks));
  }
  const std::string action(InboundActionName(d.action));
  std::vector<v1::Recipient> all(env.recipients().begin(), env.recipients().end());
  v1::MessageRecord out = Derive(record, std::move(out_msg), action, all);
  for (const auto& r : all) {
    Note(out, action, d.RuleText(), LowerAscii(r.address()));
    LogDecision(record, LowerAscii(r.address()), action, d.RuleText(), action);
    metrics_.Recipient("inbound", action);
  }
  std::vector<v1::MessageRecord> outputs;
  outputs.push_back(std::move(out));
  return outputs;
}

// Encrypted: each recipient is decrypted with its own keys, so nobody
// receives content only another recipient's key could open.
Result<std::vector<v1::MessageRecord>> PolicyProcessor::InboundPerRecipient(
    const v1::MessageRecord& record) {
  std::vector<v1::MessageRecord> outputs;
  std::vector<egress::FailedRecipient> failed;
  std::vector<InboundRecipient> passed;
  int index = 0;
  for (const auto& rcpt : record.envelope().recipients()) {
    SG_ASSIGN_OR_RETURN(InboundRecipient r, GatherInbound(record, rcpt));
    const InboundDecision d = DecideInbound(r.facts);
    switch (d.action) {
      case InboundAction::kBounced:
        failed.push_back(Undecryptable(record, r, d));
        break;
      case InboundAction::kDecrypted: {
        SG_ASSIGN_OR_RETURN(std::string out_msg, Mark(r.message, d.marks));
        const std::string form_id = "dec-" + std::to_string(++index);
        v1::MessageRecord out = Derive(record, std::move(out_msg), form_id, {rcpt});
        Note(out, "decrypted", d.RuleText(), r.addr);
        LogDecision(record, r.addr, "decrypted", d.RuleText(), form_id);
        metrics_.Recipient("inbound", "decrypted");
        outputs.push_back(std::move(out));
        break;
      }
      case InboundAction::kPassed:
      case InboundAction::kVerified:
        passed.push_back(std::move(r));
        break;
    }
  }
  if (!passed.empty()) {
    std::vector<v1::Recipient> rcpts;
    for (const auto& r : passed) rcpts.push_back(r.rcpt);
    v1::MessageRecord out = Derive(record, record.message(), "unchanged", rcpts);
    for (const auto& r : passed) {
      const std::string rule = DecideInbound(r.facts).RuleText();
      Note(out, "passed", rule, r.addr);
      LogDecision(record, r.addr, "passed", rule, "unchanged");
      metrics_.Recipient("inbound", "passed");
    }
    outputs.push_back(std::move(out));
  }
  Bounce(record, failed, "undecryptable, not delivered", outputs);
  return outputs;
}

egress::FailedRecipient PolicyProcessor::Undecryptable(const v1::MessageRecord& record,
                                                       const InboundRecipient& r,
                                                       const InboundDecision& d) {
  metrics_.Bounce("undecryptable");
  metrics_.Recipient("inbound", "bounced");
  LogDecision(record, r.addr, "bounce", d.RuleText(), "",
              "status=" + d.status + " reason=\"" + r.error + "\"");
  egress::FailedRecipient f;
  f.recipient = r.rcpt;
  f.status = d.status;
  f.diagnostic = "550 " + d.status +
                 " The encrypted message could not be decrypted for this recipient: " + r.error +
                 ". It was not delivered.";
  return f;
}

}  // namespace sg::workers
