// PolicyProcessor, inbound: gather the facts (every S/MIME layer, opened
// with each recipient's keys), DecideInbound per recipient, emit the forms
// (policy_processor.h, policy_unwrap.h).
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "common/ascii.h"
#include "common/log_event.h"
#include "common/mail/address.h"
#include "common/mail/dsn.h"
#include "workers/policy/policy_decision.h"
#include "workers/policy/policy_emit.h"
#include "workers/policy/policy_processor.h"
#include "workers/policy/policy_subject.h"
#include "workers/policy/policy_unwrap.h"
#include "workers/policy/policy_verification.h"

namespace sg::workers {
namespace v1 = smimegate::v1;
namespace {

// The one sentence every sender of undecryptable mail reads, whatever went
// wrong: no library text, nothing that depends on the key or the padding
// (issue 13 point 1, DESIGN invariant 9).
constexpr char kUndecryptableText[] =
    "550 5.7.5 The encrypted message could not be decrypted for this recipient. "
    "It was not delivered.";

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

bool IsSignature(const Layer& l) {
  return l.kind == Layer::Kind::kSignedDetached || l.kind == Layer::Kind::kSignedOpaque;
}

// The facts the layers give (the subject and DSN facts are added by the caller).
InboundFacts FactsOf(const Unwrapped& u) {
  InboundFacts f;
  bool all_auth = true;
  auto combine = [&f](bool good) {
    f.signature = f.signature == SignatureVerdict::kInvalid || !good ? SignatureVerdict::kInvalid
                                                                    : SignatureVerdict::kGood;
  };
  for (const Layer& l : u.layers) {
    if (IsSignature(l)) combine(l.status == smime::VerifyStatus::kGood);
    // A signature nested too deeply to be checked counts as a bad one.
    if (l.kind == Layer::Kind::kTooDeep && l.opened == Layer::Opened::kNo) combine(false);
    switch (l.opened) {
      case Layer::Opened::kReplayed: f.decryption = Decryption::kReplayed; return f;
      case Layer::Opened::kFailed: f.decryption = Decryption::kFailed; return f;
      case Layer::Opened::kNotOurs:
        if (f.decryption == Decryption::kNone) f.decryption = Decryption::kNotOurs;
        break;
      case Layer::Opened::kDecrypted:
        f.decryption = Decryption::kDecrypted;
        all_auth = all_auth && l.kind == Layer::Kind::kAuthEnveloped;
        break;
      case Layer::Opened::kNo: break;
    }
    if (l.kind == Layer::Kind::kOther && u.layers.size() == 1) f.other_smime = l.other;
  }
  f.auth_enveloped = f.decryption == Decryption::kDecrypted && all_auth;
  return f;
}

// For the admin's metrics: why an encrypted layer was not opened. The
// sender never sees any of this.
std::string FailureClass(const Unwrapped& u) {
  for (const Layer& l : u.layers) {
    if (l.kind == Layer::Kind::kTooDeep && l.opened == Layer::Opened::kFailed) return "too_deep";
    if (l.opened != Layer::Opened::kFailed) continue;
    if (l.reason.find("none of the") != std::string::npos) return "no_key";
    if (l.reason.find("not allowed") != std::string::npos) return "refused_algorithm";
    if (l.reason.find("decrypted content") != std::string::npos) return "not_mime";
    if (l.reason.find("cannot open") != std::string::npos) return "decrypt_failed";
    return "malformed";
  }
  return "unknown";
}

std::string LayerNames(const Unwrapped& u) {
  std::string out;
  for (const Layer& l : u.layers) {
    if (!out.empty()) out += ',';
    out += LayerKindName(l.kind);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

// One recipient: its layers, facts and decision.
struct PolicyProcessor::InboundRecipient {
  v1::Recipient rcpt;
  std::string addr;  // normalised (common/mail/address.h), else lower-case
  // Why the keyservice cannot process this address (it refused it); this
  // recipient alone is returned to the sender (5.1.3), issue 13 point 10.
  std::string unusable;
  Unwrapped unwrapped;
  InboundFacts facts;
  InboundDecision decision;
};

UnwrapOptions PolicyProcessor::InboundUnwrapOptions() const {
  UnwrapOptions o;
  o.max_layers = config_.max_layers;
  o.check_from_address = smime_config_.check_from_address;
  o.check_date = smime_config_.check_signing_date;
  o.allow_sha1 = smime_config_.allow_sha1;
  o.decrypt.allow_3des = smime_config_.allow_3des;
  o.revocation = revocation_.get();
  return o;
}

void PolicyProcessor::HarvestSigner(const Unwrapped& u, const std::string& message_id) {
  for (const Layer& l : u.layers) {
    if (!IsSignature(l)) continue;
    metrics_.Verified(std::string(smime::VerifyStatusName(l.status)));
  }
  // The outermost signature is the one bound to From; harvest from an
  // intact one only (the keyservice judges trust: untrusted -> pending).
  auto outer = std::find_if(u.layers.begin(), u.layers.end(), IsSignature);
  if (outer == u.layers.end() || !outer->verified) return;
  const smime::VerifyResult& v = *outer->verified;
  const bool intact = v.status == smime::VerifyStatus::kGood ||
                      v.status == smime::VerifyStatus::kUntrusted;
  spdlog::info("policy message_id={} verify status={} signer=<{}> layers={}{}", message_id,
               smime::VerifyStatusName(v.status), v.from_address, LayerNames(u),
               v.detail.empty() ? "" : " detail=" + v.detail);
  if (!intact || !v.signer || v.from_address.empty()) return;
  keyservice::HarvestRequest req;
  req.address = v.from_address;
  req.certificate_der = CertDer(v.signer.get());
  req.capabilities = v.capabilities.algorithms;
  for (const auto& c : v.certificates) {
    if (X509_cmp(c.get(), v.signer.get()) != 0) req.chain_der.push_back(CertDer(c.get()));
  }
  auto harvested = keys_.HarvestCertificate(req);
  if (harvested.ok()) {
    metrics_.Harvest(OutcomeName(harvested->outcome));
    spdlog::info("policy message_id={} harvest signer=<{}> outcome={} {}", message_id, req.address,
                 OutcomeName(harvested->outcome), harvested->reason);
  } else {
    // The message is still delivered; the next signed message harvests again.
    metrics_.Harvest("error");
    spdlog::warn("policy message_id={} harvest signer=<{}> failed: {}", message_id, req.address,
                 harvested.error().ToString());
  }
}

Result<PolicyProcessor::InboundRecipient> PolicyProcessor::GatherInbound(
    const v1::MessageRecord& record, const v1::Recipient& rcpt, const Unwrapper& unwrapper,
    const Unwrapped& common) {
  InboundRecipient r;
  r.rcpt = rcpt;
  auto normalised = mail::NormalizeAddress(rcpt.address());
  r.addr = normalised.ok() ? std::move(normalised).value() : AsciiLower(rcpt.address());
  if (common.done) {
    r.unwrapped = common;  // nothing to open: no per-recipient lookup
  } else {
    auto keys = KeysOf(r.addr);
    if (!keys.ok() && keys.error().code == ErrorCode::kInvalidArgument) {
      // One address the keyservice cannot process must not take the
      // others down with it. Anything else (unavailable, timeout) fails the
      // record transiently: the pool retries it, nobody is bounced.
      r.unusable = keys.error().message;
      return r;
    }
    if (!keys.ok()) return keys.error();
    RecipientKeys rk;
    rk.pairs = keys->pairs;
    rk.keeps_own_key = keys->keeps_own_key;
    SG_ASSIGN_OR_RETURN(r.unwrapped, unwrapper.ForRecipient(common, rk));
  }
  r.facts = FactsOf(r.unwrapped);
  if (auto subject = GetSubject(r.unwrapped.deliver)) {
    if (auto stripped = StripInboundControls(*subject)) {
      r.facts.forged_mark = stripped->mark_removed;
      r.facts.forged_tag = stripped->tag_removed;
    }
  }
  if (r.facts.decryption == Decryption::kFailed) {
    SG_ASSIGN_OR_RETURN(r.facts.dsn, FailureDsnVerdict(record, r));
  }
  r.decision = DecideInbound(r.facts);
  return r;
}

Result<PolicyProcessor::OwnedKeys> PolicyProcessor::KeysOf(const std::string& addr) {
  SG_ASSIGN_OR_RETURN(auto keys, keys_.GetDecryptionKeys(addr));
  OwnedKeys out;
  if (keys.empty()) {
    // Not ours to decrypt when the user keeps their own key.
    SG_ASSIGN_OR_RETURN(bool participates, keys_.Participates(addr));
    out.keeps_own_key = !participates;
  }
  out.pairs = DecryptionPairs(keys);
  return out;
}

Result<DsnVerdict> PolicyProcessor::FailureDsnVerdict(const v1::MessageRecord& record,
                                                      const InboundRecipient& r) {
  const auto& env = record.envelope();
  if (env.mail_from().empty() || !mail::WantsFailureDsn(r.rcpt)) return DsnVerdict::kNotWanted;
  keyservice::FailureDsnRequest req;
  req.sender = AsciiLower(env.mail_from());
  req.key_digest = r.unwrapped.failure_key;
  req.message_id = env.message_id();
  req.now_ms = clock_.NowMs();
  SG_ASSIGN_OR_RETURN(keyservice::DsnPermission p, guard_.PermitFailureDsn(req));
  switch (p) {
    case keyservice::DsnPermission::kAllowed: return DsnVerdict::kSend;
    case keyservice::DsnPermission::kAlreadySent: return DsnVerdict::kAlreadySent;
    case keyservice::DsnPermission::kRateLimited: return DsnVerdict::kRateLimited;
  }
  return DsnVerdict::kSend;
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::ProcessInbound(
    const v1::MessageRecord& record) {
  const auto& env = record.envelope();
  SG_ASSIGN_OR_RETURN(smime::TrustStore trust, Trust());
  const int64_t arrival_ms = env.received_at_ms() > 0 ? env.received_at_ms() : clock_.NowMs();
  Unwrapper unwrapper(engine_, trust, guard_, InboundUnwrapOptions(),
                      static_cast<std::time_t>(arrival_ms / 1000), env.message_id());
  SG_ASSIGN_OR_RETURN(Unwrapped common, unwrapper.Common(record.message()));

  std::vector<InboundRecipient> recipients;
  for (const auto& rcpt : env.recipients()) {
    SG_ASSIGN_OR_RETURN(InboundRecipient r, GatherInbound(record, rcpt, unwrapper, common));
    recipients.push_back(std::move(r));
  }
  for (const InboundRecipient& r : recipients) {
    if (r.unusable.empty() && r.decision.action == InboundAction::kQuarantined) {
      return Quarantine(record, r);
    }
  }
  // Harvest once per message, from the first recipient who reached a signature.
  for (const InboundRecipient& r : recipients) {
    if (std::any_of(r.unwrapped.layers.begin(), r.unwrapped.layers.end(), IsSignature)) {
      HarvestSigner(r.unwrapped, env.message_id());
      break;
    }
  }
  return EmitInbound(record, recipients);
}

Error PolicyProcessor::Quarantine(const v1::MessageRecord& record, const InboundRecipient& r) {
  metrics_.Quarantined("content_key_replayed");
  metrics_.Recipient("inbound", "quarantined");
  LogDecision(record, r.addr, "quarantined", r.decision.RuleText(), "",
              {{"layers", LayerNames(r.unwrapped)}});
  spdlog::warn("policy message_id={} from=<{}> quarantined: an encrypted content key was seen "
               "before with other ciphertext (padding-oracle / EFAIL pattern)",
               record.envelope().message_id(), record.envelope().mail_from());
  // Dead-lettered by the pool with this reason: kept, visible to the admin,
  // nothing delivered and no DSN to anybody.
  return MakeError(ErrorCode::kPermissionDenied,
                   "quarantined: the encrypted content key for <" + r.addr +
                       "> was seen before with other ciphertext (possible padding-oracle or "
                       "EFAIL attack); not decrypted, no DSN");
}

// RFC 9788 on one delivered recipient: a ProcessingNote, the metric, and a
// warning when the protected headers were not restored (spoofed From,
// malformed payload: the form is delivered with unprotected handling).
void PolicyProcessor::NoteHeaderProtection(const v1::MessageRecord& record,
                                           const InboundRecipient& r, HpRestore hp,
                                           v1::MessageRecord& out) {
  const std::string result(HpRestoreName(hp));
  metrics_.HeaderProtection("inbound", result);
  Note(out, "header_protection", result, r.addr);
  if (hp == HpRestore::kRestored) return;
  log::Event("policy")
      .Field("message_id", record.envelope().message_id())
      .Field("rcpt", r.addr)
      .Field("header_protection", result)
      .Warn();
}

Result<std::string> PolicyProcessor::InboundForm(const InboundRecipient& r, HpRestore& hp) {
  std::string_view base = r.unwrapped.deliver;
  // RFC 9788 (and the draft's protected-headers="v1"): protected header
  // fields of a payload the gateway opened or verified go to the top level
  // for clients that do not read them there; the marks below then apply to
  // the restored Subject.
  RestoredMessage restored;
  hp = HpRestore::kNone;
  if (!r.unwrapped.layers.empty()) {
    restored = RestoreHeaders(base, r.unwrapped.decrypted_header, engine_.limits(),
                              r.unwrapped.signed_header);
    hp = restored.result;
    if (hp == HpRestore::kRestored) base = restored.message;
  }
  // Marks are the gateway's word: marks and tags the sender wrote go first
  // (from every Subject field); only the top-level header changes, so a
  // signature stays valid (invariant 7). The sender's X-Smimegate-
  // Verification fields are replaced by the gateway's (one pass, one copy).
  SG_ASSIGN_OR_RETURN(smime::MimeEntity top, smime::ParseEntity(base, engine_.limits()));
  size_t subjects = 0, details_in = 0;
  std::string original;
  for (const auto& f : top.fields) {
    if (smime::NameIs(f.name, "Subject") && subjects++ == 0) original = smime::FieldValue(f);
    if (smime::NameIs(f.name, kVerificationHeader)) ++details_in;
  }
  std::string subject = original;
  if (auto stripped = StripInboundControls(subject)) subject = stripped->value;
  if (!r.decision.marks.empty()) subject = MarkSubject(r.decision.marks, subject);
  std::vector<smime::FieldEdit> edits;
  if (subject != original || subjects > 1) edits.push_back({"Subject", {subject}, true});
  std::vector<std::string> details = VerificationFields(r.unwrapped.layers);
  if (!details.empty() || details_in > 0) {
    edits.push_back({kVerificationHeader, std::move(details), false});
  }
  if (edits.empty()) return std::string(base);
  return smime::RewriteFields(base, edits, engine_.limits());
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::EmitInbound(
    const v1::MessageRecord& record, const std::vector<InboundRecipient>& recipients) {
  std::vector<v1::MessageRecord> outputs;
  std::vector<mail::FailedRecipient> failed;
  std::vector<v1::Recipient> held;  // undecryptable, and their sender is not told
  std::vector<mail::FailedRecipient> held_unusable;  // unprocessable, and nobody is told
  // Recipients who get the same bytes share one form.
  std::vector<std::pair<std::string, std::vector<const InboundRecipient*>>> forms;
  std::unordered_map<const InboundRecipient*, HpRestore> hp_of;  // header protection, when any
  for (const InboundRecipient& r : recipients) {
    if (!r.unusable.empty()) {
      metrics_.Recipient("inbound", "bounced");
      mail::FailedRecipient f = BadAddressBounce(record, r.addr, r.rcpt, r.unusable, metrics_);
      const bool told = !record.envelope().mail_from().empty() && mail::WantsFailureDsn(r.rcpt);
      (told ? failed : held_unusable).push_back(f);
      continue;
    }
    const InboundDecision& d = r.decision;
    const std::string action(InboundActionName(d.action));
    metrics_.Recipient("inbound", d.action == InboundAction::kBounced ? "bounced" : action);
    if (d.action == InboundAction::kBounced) {
      metrics_.Bounce("undecryptable");
      metrics_.DecryptFailure(FailureClass(r.unwrapped));
      if (!d.send_dsn) metrics_.DsnSuppressed(std::string(DsnVerdictName(r.facts.dsn)));
      LogDecision(record, r.addr, "bounce", d.RuleText(), "",
                  {{"status", d.status},
                   {"layers", LayerNames(r.unwrapped)},
                   {"reason", std::string(FailureClass(r.unwrapped))}});
      if (d.send_dsn) {
        mail::FailedRecipient f;
        f.recipient = r.rcpt;
        f.status = d.status;
        f.diagnostic = kUndecryptableText;
        failed.push_back(std::move(f));
      } else {
        held.push_back(r.rcpt);
      }
      continue;
    }
    HpRestore hp = HpRestore::kNone;
    SG_ASSIGN_OR_RETURN(std::string out, InboundForm(r, hp));
    if (hp != HpRestore::kNone) hp_of[&r] = hp;
    auto same = std::find_if(forms.begin(), forms.end(), [&out](const auto& f) { return f.first == out; });
    if (same != forms.end()) {
      same->second.push_back(&r);
    } else {
      forms.emplace_back(std::move(out), std::vector<const InboundRecipient*>{&r});
    }
  }
  int dec_index = 0;
  int other_index = 0;
  for (auto& [message, members] : forms) {
    const InboundDecision& first = members.front()->decision;
    std::string form_id;
    if (first.action == InboundAction::kDecrypted) {
      form_id = "dec-" + std::to_string(++dec_index);
    } else if (members.size() == recipients.size()) {
      form_id = std::string(InboundActionName(first.action));  // one form for everybody
    } else {
      form_id = ++other_index == 1 ? "unchanged" : "unchanged-" + std::to_string(other_index);
    }
    std::vector<v1::Recipient> rcpts;
    for (const InboundRecipient* r : members) rcpts.push_back(r->rcpt);
    v1::MessageRecord out = Derive(record, std::move(message), form_id, rcpts);
    for (const InboundRecipient* r : members) {
      const std::string a(InboundActionName(r->decision.action));
      Note(out, a, r->decision.RuleText(), r->addr);
      LogDecision(record, r->addr, a, r->decision.RuleText(), form_id,
                  {{"layers", LayerNames(r->unwrapped)}});
      if (auto hp = hp_of.find(r); hp != hp_of.end())
        NoteHeaderProtection(record, *r, hp->second, out);
    }
    outputs.push_back(std::move(out));
  }
  Bounce(record, failed, "undecryptable or unprocessable, not delivered", outputs);
  if (!held.empty()) {
    // Nobody is told, so the administrator keeps it (still encrypted).
    v1::MessageRecord keep = Derive(record, record.message(), "held", held);
    keep.set_hold_reason("undecryptable and no DSN (duplicate, rate-limited or not wanted): kept "
                         "for the administrator, not delivered");
    outputs.push_back(std::move(keep));
  }
  if (!held_unusable.empty()) {
    std::vector<v1::Recipient> rcpts;
    rcpts.reserve(held_unusable.size());
    for (const auto& f : held_unusable) rcpts.push_back(f.recipient);
    v1::MessageRecord keep = Derive(record, record.message(), "held-address", rcpts);
    keep.set_hold_reason("the keyservice cannot process the recipient address (" +
                         held_unusable.front().diagnostic + ") and no DSN (null sender or "
                         "NOTIFY=NEVER): kept for the administrator, not delivered");
    outputs.push_back(std::move(keep));
  }
  return outputs;
}

}  // namespace sg::workers
