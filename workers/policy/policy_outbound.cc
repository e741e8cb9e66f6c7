// PolicyProcessor, outbound: gather the facts, DecideOutbound per
// recipient, emit the forms (policy_processor.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <functional>
#include <span>

#include "common/ascii.h"
#include "common/log_event.h"
#include "common/mail/address.h"
#include "common/mail/dsn.h"
#include "workers/policy/policy_ca_wait.h"
#include "workers/policy/policy_content.h"
#include "workers/policy/policy_decision.h"
#include "workers/policy/policy_emit.h"
#include "workers/policy/policy_header_protection.h"
#include "workers/policy/policy_processor.h"
#include "workers/discovery/certificate_discovery.h"
#include "workers/policy/policy_subject.h"
#include "workers/smime/smime_detect.h"

namespace sg::workers {
namespace v1 = smimegate::v1;
namespace {

std::string MetricAction(Form form) {
  switch (form) {
    case Form::kUnchanged: return "passed";
    case Form::kSigned: return "signed";
    case Form::kEncrypted: return "encrypted";
    case Form::kSignedEncrypted: return "signed_encrypted";
    case Form::kWebEncryption: return "web_encryption";
    case Form::kBounce: return "bounced";
  }
  return "unknown";
}


}  // namespace

// The facts of one outbound message and the decision per recipient.
struct PolicyProcessor::OutboundPlan {
  struct Rcpt {
    v1::Recipient rcpt;
    std::string addr;  // normalised (common/mail/address.h)
    // Why this recipient cannot be processed (its address is not one the
    // keyservice accepts); it alone is returned to the sender (5.1.3).
    std::string unusable;
    std::optional<keyservice::EncryptionCertificate> cert;
    Decision decision;
  };
  std::string sender;  // lower-case envelope sender
  std::optional<keyservice::SigningIdentity> identity;
  // Not 0: the sender's certificate waits for the CA; the record is set
  // aside until then (unix ms) and nothing else is gathered.
  int64_t set_aside_until_ms = 0;
  MessageFacts facts;
  std::string message;  // the message with the tags removed
  std::vector<Rcpt> recipients;
  // The sender's tenant's policy override (policy_tenant.h); `tenant`
  // points into `tenants`, null when none.
  std::shared_ptr<const TenantPolicyTable> tenants;
  const TenantPolicyView* tenant = nullptr;
  EffectivePolicy effective;
};

Result<std::vector<v1::MessageRecord>> PolicyProcessor::ProcessOutbound(
    const v1::MessageRecord& record) {
  SG_ASSIGN_OR_RETURN(OutboundPlan plan, GatherOutbound(record));
  if (plan.set_aside_until_ms == 0 && discovery_ != nullptr) DiscoverCertificates(record, plan);
  if (plan.set_aside_until_ms != 0) {
    v1::MessageRecord aside = record;
    aside.set_set_aside_until_ms(plan.set_aside_until_ms);
    // The wait counts from the acceptance: a record without it starts now.
    if (aside.envelope().received_at_ms() == 0) {
      aside.mutable_envelope()->set_received_at_ms(clock_.NowMs());
    }
    return std::vector<v1::MessageRecord>{std::move(aside)};
  }
  for (auto& r : plan.recipients) {
    if (!r.unusable.empty()) continue;  // returned to the sender by EmitOutbound
    RecipientFacts rf;
    rf.rule = FindRule(config_, plan.tenants.get(), plan.tenant, r.addr);
    if (r.cert) {
      (r.cert->domain_certificate ? rf.domain_cert : rf.personal_cert) = true;
      if (!r.cert->domain_certificate_der.empty()) rf.domain_cert = true;
    }
    r.decision = DecideOutbound(plan.facts, rf, plan.effective.web_encryption);
  }
  SG_ASSIGN_OR_RETURN(auto outputs, EmitOutbound(record, plan));
  // DKIM last: nothing changes a form after it (policy_dkim.h).
  if (dkim_) dkim_->Apply(record.message(), outputs);
  return outputs;
}

void PolicyProcessor::DiscoverCertificates(const v1::MessageRecord& record, OutboundPlan& plan) {
  if (plan.facts.already_encrypted) return;
  int64_t retry_at_ms = 0;
  for (auto& r : plan.recipients) {
    if (!r.unusable.empty() || r.cert) continue;
    // Only where a certificate would change the decision (a sender who does
    // not participate, [noenc], [plain], an exemption: no lookup).
    RecipientFacts rf;
    rf.rule = FindRule(config_, plan.tenants.get(), plan.tenant, r.addr);
    rf.personal_cert = true;
    const Form with = DecideOutbound(plan.facts, rf, plan.effective.web_encryption).form;
    if (with != Form::kEncrypted && with != Form::kSignedEncrypted) continue;
    DiscoveryStatus found = discovery_->Lookup(r.addr, r.rcpt.address());
    if (found.state == DiscoveryStatus::State::kFound) {
      keyservice::EncryptionCertificate cert;
      cert.owner = r.addr;
      cert.certificate_der = std::move(found.certificate_der);
      r.cert = std::move(cert);
    } else if (found.state == DiscoveryStatus::State::kPending) {
      retry_at_ms = retry_at_ms == 0 ? found.retry_at_ms : std::min(retry_at_ms, found.retry_at_ms);
    }
  }
  if (retry_at_ms == 0) return;
  log::Event("policy")
      .Field("message_id", record.envelope().message_id())
      .Field("action", "discovery_wait")
      .Field("retry_at_ms", retry_at_ms)
      .Info();
  plan.set_aside_until_ms = retry_at_ms;
}

Status PolicyProcessor::WithoutSigningIdentity(const v1::MessageRecord& record,
                                              const Error& error, OutboundPlan& plan) {
  const CaWaitDecision d = DecideCaWait(error.code, record.envelope().received_at_ms(),
                                        clock_.NowMs(), config_.ca_wait, config_.ca_retry);
  if (d.action == CaWaitAction::kFail) return error;
  log::Event e("policy");
  e.Field("message_id", record.envelope().message_id())
      .Field("sender", plan.sender)
      .Field("error", error.ToString());
  if (d.action == CaWaitAction::kWait) {
    metrics_.CaWait("set_aside");
    e.Field("action", "ca_wait").Field("retry_at_ms", d.retry_at_ms).Warn();
    plan.set_aside_until_ms = d.retry_at_ms;
  } else {
    metrics_.CaWait(d.reason);
    e.Field("action", "unsigned").Field("reason", d.reason).Warn();
    plan.facts.no_signing_identity = true;
  }
  return OkStatus();
}

Result<PolicyProcessor::OutboundPlan> PolicyProcessor::GatherOutbound(
    const v1::MessageRecord& record) {
  const auto& env = record.envelope();
  const std::string& original = record.message();
  OutboundPlan plan;
  plan.sender = AsciiLower(env.mail_from());
  MessageFacts& facts = plan.facts;
  // The registry's global rules apply to every sender (also the null
  // sender); a tenant's override only to its own senders.
  if (tenant_policies_ != nullptr) plan.tenants = tenant_policies_->Current();
  if (plan.tenants && !plan.sender.empty()) {
    plan.tenant = plan.tenants->ForDomain(mail::DomainOf(plan.sender));
  }
  plan.effective = ResolvePolicy(config_, plan.tenant, web_encryption_available_);

  // Only the authorised envelope sender is signed for, and only when the
  // From header names the same mailbox (a signature must match From).
  if (!plan.sender.empty()) {
    SG_ASSIGN_OR_RETURN(bool participates, keys_.Participates(plan.sender));
    if (participates && FromAddress(original) != plan.sender) {
      facts.from_mismatch = true;
    } else if (participates) {
      auto identity = keys_.GetSigningIdentity(plan.sender);
      if (identity.ok()) {
        plan.identity = std::move(identity).value();
      } else {
        SG_RETURN_IF_ERROR(WithoutSigningIdentity(record, identity.error(), plan));
        if (plan.set_aside_until_ms != 0) return plan;
      }
    }
  }
  facts.sender_participates = plan.identity.has_value() || facts.no_signing_identity;
  const smime::SmimeKind kind = smime::DetectSmime(original);
  facts.already_encrypted =
      kind == smime::SmimeKind::kEnveloped || kind == smime::SmimeKind::kAuthEnveloped;
  facts.already_signed =
      kind == smime::SmimeKind::kSignedDetached || kind == smime::SmimeKind::kSignedOpaque;
  facts.company_confidential = CompanyConfidential(original);
  facts.never_encrypt_part = NeverEncryptPart(original, engine_.limits());

  // Tags are the participating users' controls; they leave the subject
  // before anything is signed.
  plan.message = original;
  if (facts.sender_participates) {
    if (auto subject = GetSubject(original)) {
      ParsedSubject parsed = ParseSubject(*subject);
      facts.tags = HonouredTags(parsed.tags, plan.effective.tags_off);
      if (parsed.cleaned && plan.effective.strip_tags) {
        SG_ASSIGN_OR_RETURN(plan.message, SetSubject(original, *parsed.cleaned));
      }
    }
  }
  for (const auto& rcpt : env.recipients()) {
    OutboundPlan::Rcpt r;
    r.rcpt = rcpt;
    // One recipient the gateway cannot process must not take the others
    // down with it: it gets a DSN, they are delivered (issue 13 point 10).
    auto addr = mail::NormalizeAddress(rcpt.address());
    if (!addr.ok()) {
      r.addr = AsciiLower(rcpt.address());
      r.unusable = addr.error().message;
      plan.recipients.push_back(std::move(r));
      continue;
    }
    r.addr = std::move(addr).value();
    if (!facts.already_encrypted) {
      auto cert = keys_.GetEncryptionCertificate(r.addr);
      if (!cert.ok() && cert.error().code == ErrorCode::kInvalidArgument) {
        r.unusable = cert.error().message;
      } else {
        SG_ASSIGN_OR_RETURN(r.cert, std::move(cert));
      }
    }
    plan.recipients.push_back(std::move(r));
  }
  return plan;
}

namespace {

// Emits the forms of one outbound message: one encrypted form per
// encrypting recipient as the decisions come, the shared signed and
// unchanged forms and the DSN at the end.
class OutboundEmitter {
 public:
  using SignerFn = std::function<Result<smime::PreparedSigner>()>;
  using CertFn =
      std::function<Result<std::shared_ptr<const smime::PreparedRecipient>>(const std::string&)>;

  OutboundEmitter(const v1::MessageRecord& record, const std::string& message,
                  const smime::SmimeEngine& engine, const smime::SmimeConfig& config,
                  int64_t now_ms, PolicyMetrics& metrics)
      : record_(record), message_(message), engine_(engine), config_(config), now_ms_(now_ms),
        metrics_(metrics) {}

  // RFC 9788 header protection of the forms this emitter signs or encrypts
  // (policy_header_protection.h); off: the payloads carry no header fields.
  void set_header_protection(bool on, bool obscure_subject) {
    hp_ = on;
    obscure_subject_ = obscure_subject;
  }

  // Signs the message once per kind: the signed form (hp="clear") and every
  // signed+encrypted form (hp="cipher") share theirs; without header
  // protection the two are one.
  Status SignOnce(const std::string& sender, const SignerFn& signer_fn, bool for_encryption) {
    const size_t slot = hp_ && for_encryption ? 1 : 0;
    if (signed_message_[slot]) return OkStatus();
    SG_ASSIGN_OR_RETURN(smime::PreparedSigner signer, signer_fn());
    smime::SignOptions options;
    options.digest = config_.digest;
    options.signing_time = static_cast<std::time_t>(now_ms_ / 1000);
    std::string_view content = message_;
    std::optional<ProtectedMessage> prot;
    if (hp_) prot = Protect(for_encryption ? HpMode::kCipher : HpMode::kClear);
    if (prot) {
      content = prot->message;
      options.inner_headers = std::move(prot->inner_headers);
    }
    auto signed_or = engine_.Sign(content, signer, options);
    if (!signed_or.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "signing for " + sender + " failed: " + signed_or.error().ToString());
    }
    signed_message_[slot] = std::move(*signed_or);
    return OkStatus();
  }

  Status Encrypted(const std::string& addr, const v1::Recipient& rcpt, const Decision& d,
                   const keyservice::EncryptionCertificate& cert, bool already_signed,
                   const CertFn& cert_fn) {
    // The decision may pick the domain certificate over a personal one
    // (a sender who does not participate).
    const bool use_domain = d.domain_cert && !cert.domain_certificate;
    const std::string& der = use_domain ? cert.domain_certificate_der : cert.certificate_der;
    const auto& caps = use_domain ? cert.domain_capabilities : cert.capabilities;
    auto x509 = cert_fn(der);
    if (!x509.ok()) {
      return MakeError(ErrorCode::kCorruption, "certificate of " + addr +
                                                   " from the keyservice: " +
                                                   x509.error().ToString());
    }
    smime::Recipient r;
    r.cert = (*x509)->cert();
    r.prepared = *x509;
    r.supports_aes_gcm = AnnouncesAesGcm(caps);
    r.rsa_oaep = config_.rsa_oaep;
    smime::EncryptOptions options;
    options.cipher = config_.content_cipher;
    std::string_view content = message_;
    if (d.form == Form::kSignedEncrypted) {
      content = *signed_message_[hp_ ? 1 : 0];
      options.transport_encode = false;  // signed bytes are never re-encoded
    } else if (already_signed) {
      options.transport_encode = false;  // the sender's signature: no header protection
    } else if (hp_) {
      if (!cipher_tried_) {
        cipher_message_ = Protect(HpMode::kCipher);
        cipher_tried_ = true;
      }
      if (cipher_message_) {
        content = cipher_message_->message;
        options.inner_headers = cipher_message_->inner_headers;
      }
    }
    auto enc = engine_.Encrypt(content, std::span<const smime::Recipient>(&r, 1), options);
    if (!enc.ok()) {
      // Permanent: dead-lettered, never delivered in clear.
      return MakeError(ErrorCode::kInvalidArgument,
                       "encrypting for " + addr + " failed: " + enc.error().ToString());
    }
    const std::string form_id = "enc-" + std::to_string(++enc_index_);
    v1::MessageRecord out = Derive(record_, std::move(enc->message), form_id, {rcpt});
    const std::string action = std::string(FormName(d.form));
    Note(out, action, RuleWithTags(d), addr);
    LogDecision(record_, addr, action, RuleWithTags(d), form_id,
                {{"cert", std::string(d.domain_cert ? "domain" : "personal")},
                 {"cipher", enc->cipher_name}});
    metrics_.Encrypted(d.domain_cert ? "domain" : "personal");
    outputs_.push_back(std::move(out));
    return OkStatus();
  }

  // Web encryption: the message (tags removed, not signed) goes to the
  // portal topic for this recipient; the portal keeps it encrypted at rest
  // and notifies the recipient (docs/portal.md).
  void Portal(const std::string& addr, const v1::Recipient& rcpt, const Decision& d) {
    const std::string form_id = "portal-" + std::to_string(++portal_index_);
    v1::MessageRecord out = Derive(record_, message_, form_id, {rcpt});
    out.set_destination(v1::DESTINATION_PORTAL);
    const std::string action = std::string(FormName(d.form));
    Note(out, action, RuleWithTags(d), addr);
    LogDecision(record_, addr, action, RuleWithTags(d), form_id);
    outputs_.push_back(std::move(out));
  }

  void Shared(Form form, const v1::Recipient& rcpt, const Decision& d) {
    (form == Form::kSigned ? signed_ : unchanged_).push_back({rcpt, d});
  }

  // A recipient whose address cannot be processed: bounced alone (5.1.3).
  void Unusable(const std::string& addr, const v1::Recipient& rcpt, const std::string& why) {
    failed_.push_back(BadAddressBounce(record_, addr, rcpt, why, metrics_));
  }

  void Failed(const std::string& addr, const v1::Recipient& rcpt, const Decision& d) {
    metrics_.Bounce("forced_no_certificate");
    LogDecision(record_, addr, "bounce", RuleWithTags(d), "", {{"status", std::string("5.7.1")}});
    mail::FailedRecipient f;
    f.recipient = rcpt;
    f.status = "5.7.1";
    f.diagnostic = "550 5.7.1 " + d.reason;
    failed_.push_back(std::move(f));
  }

  // The shared forms; signed_message_ must exist when there are signed recipients.
  std::vector<v1::MessageRecord> Finish() {
    Group(signed_, "signed", "signed", signed_message_[0] ? *signed_message_[0] : message_);
    // [plain] (and the other tags) are removed from the subject; everything
    // else is delivered as received.
    Group(unchanged_, "unchanged", "passed", message_);
    return std::move(outputs_);
  }

  const std::vector<mail::FailedRecipient>& failed() const { return failed_; }
  void set_tags(std::string tags) { tags_ = std::move(tags); }

 private:
  struct Member {
    v1::Recipient rcpt;
    Decision decision;
  };
  // The message prepared for one kind of payload; nullopt (counted, logged)
  // when it cannot be: then it goes out without header protection, as before.
  std::optional<ProtectedMessage> Protect(HpMode mode) {
    auto p = ProtectHeaders(message_, mode, obscure_subject_, engine_.limits());
    if (!p.ok()) {
      metrics_.HeaderProtection("outbound", "error");
      log::Event("policy")
          .Field("message_id", record_.envelope().message_id())
          .Field("header_protection", "error")
          .Field("error", p.error().ToString())
          .Warn();
      return std::nullopt;
    }
    metrics_.HeaderProtection("outbound", mode == HpMode::kCipher ? "cipher" : "clear");
    return std::move(p).value();
  }
  std::string RuleWithTags(const Decision& d) const {
    return tags_.empty() ? d.RuleText() : d.RuleText() + " tags=" + tags_;
  }
  void Group(const std::vector<Member>& members, const std::string& form_id,
             const std::string& action, const std::string& message) {
    if (members.empty()) return;
    std::vector<v1::Recipient> rcpts;
    for (const auto& m : members) rcpts.push_back(m.rcpt);
    v1::MessageRecord out = Derive(record_, message, form_id, rcpts);
    for (const auto& m : members) {
      const std::string addr = AsciiLower(m.rcpt.address());
      Note(out, action, RuleWithTags(m.decision), addr);
      LogDecision(record_, addr, action, RuleWithTags(m.decision), form_id);
    }
    outputs_.push_back(std::move(out));
  }

  const v1::MessageRecord& record_;
  const std::string& message_;
  const smime::SmimeEngine& engine_;
  const smime::SmimeConfig& config_;
  int64_t now_ms_;
  PolicyMetrics& metrics_;
  std::string tags_;
  bool hp_ = false;
  bool obscure_subject_ = false;
  std::array<std::optional<std::string>, 2> signed_message_;  // [0] signed form, [1] for encryption
  bool cipher_tried_ = false;
  std::optional<ProtectedMessage> cipher_message_;  // unsigned, for encrypted forms
  int enc_index_ = 0;
  int portal_index_ = 0;
  std::vector<Member> signed_, unchanged_;
  std::vector<mail::FailedRecipient> failed_;
  std::vector<v1::MessageRecord> outputs_;
};

}  // namespace

Result<std::vector<v1::MessageRecord>> PolicyProcessor::EmitOutbound(const v1::MessageRecord& record,
                                                                     OutboundPlan& plan) {
  OutboundEmitter emit(record, plan.message, engine_, smime_config_, clock_.NowMs(), metrics_);
  emit.set_tags(plan.facts.tags.Names());
  emit.set_header_protection(config_.header_protection, plan.effective.obscure_subject);
  std::optional<smime::PreparedSigner> signer;
  auto signer_fn = [&]() -> Result<smime::PreparedSigner> {
    if (!signer) {
      SG_ASSIGN_OR_RETURN(auto s, Signer(*plan.identity));
      signer = std::move(s);
    }
    return *signer;
  };
  auto cert_fn = [this](const std::string& der) { return RecipientCert(der); };
  for (const auto& r : plan.recipients) {
    if (!r.unusable.empty()) {
      metrics_.Recipient("outbound", "bounced");
      emit.Unusable(r.addr, r.rcpt, r.unusable);
      continue;
    }
    const Decision& d = r.decision;
    metrics_.Recipient("outbound", MetricAction(d.form));
    switch (d.form) {
      case Form::kUnchanged:
        emit.Shared(Form::kUnchanged, r.rcpt, d);
        break;
      case Form::kSigned:
        emit.Shared(Form::kSigned, r.rcpt, d);
        break;
      case Form::kEncrypted:
      case Form::kSignedEncrypted:
        if (d.form == Form::kSignedEncrypted) {
          SG_RETURN_IF_ERROR(emit.SignOnce(plan.sender, signer_fn, /*for_encryption=*/true));
        }
        SG_RETURN_IF_ERROR(
            emit.Encrypted(r.addr, r.rcpt, d, *r.cert, plan.facts.already_signed, cert_fn));
        break;
      case Form::kWebEncryption:
        emit.Portal(r.addr, r.rcpt, d);
        break;
      case Form::kBounce:
        emit.Failed(r.addr, r.rcpt, d);
        break;
    }
  }
  const bool any_signed =
      std::any_of(plan.recipients.begin(), plan.recipients.end(), [](const auto& r) {
        return r.unusable.empty() && r.decision.form == Form::kSigned;
      });
  if (any_signed) {
    SG_RETURN_IF_ERROR(emit.SignOnce(plan.sender, signer_fn, /*for_encryption=*/false));
  }
  std::vector<v1::MessageRecord> outputs = emit.Finish();
  Bounce(record, emit.failed(), "not sent", outputs);
  return outputs;
}

}  // namespace sg::workers
