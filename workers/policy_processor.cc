#include "workers/policy_processor.h"

#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/ascii.h"
#include "workers/policy_content.h"
#include "workers/policy_decision.h"
#include "workers/policy_subject.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_mime.h"

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

Result<smime::PkeyPtr> KeyFromDer(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()));
  if (key == nullptr) {
    // The text of the OpenSSL error never contains key material.
    return MakeError(ErrorCode::kCorruption, "keyservice key: not a PKCS#8 key: " +
                                                 smime::TakeOpenSslError());
  }
  return smime::AdoptPkey(key);
}

// A record with the same envelope and these recipients, message and form.
v1::MessageRecord Derive(const v1::MessageRecord& in, std::string message, std::string form_id,
                         const std::vector<v1::Recipient>& recipients) {
  v1::MessageRecord out;
  *out.mutable_envelope() = in.envelope();
  out.mutable_envelope()->clear_recipients();
  for (const auto& r : recipients) *out.mutable_envelope()->add_recipients() = r;
  out.set_message(std::move(message));
  out.set_form_id(std::move(form_id));
  *out.mutable_notes() = in.notes();
  *out.mutable_delivery() = in.delivery();
  return out;
}

void Note(v1::MessageRecord& out, const std::string& action, const std::string& rule,
          const std::string& rcpt) {
  auto* n = out.add_notes();
  n->set_action(action);
  n->set_rule(rule);
  n->set_detail(rcpt);
}

const char* DirectionName(v1::Direction d) {
  return d == v1::DIRECTION_INBOUND ? "inbound" : d == v1::DIRECTION_OUTBOUND ? "outbound" : "unspecified";
}

void LogDecision(const v1::MessageRecord& record, const std::string& rcpt,
                 const std::string& action, const std::string& rule, const std::string& form_id,
                 const std::string& extra = {}) {
  spdlog::info("policy message_id={} direction={} from=<{}> rcpt=<{}> action={} rule={} form={}{}",
               record.envelope().message_id(), DirectionName(record.envelope().direction()),
               record.envelope().mail_from(), rcpt, action, rule, form_id.empty() ? "-" : form_id,
               extra.empty() ? "" : " " + extra);
}

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

// Whether harvested SMIMECapabilities list an AES-GCM cipher (short names
// "aes-256-gcm"/"id-aes256-GCM" or the OIDs 2.16.840.1.101.3.4.1.6/.26/.46).
bool AnnouncesAesGcm(const std::vector<std::string>& capabilities) {
  for (const auto& c : capabilities) {
    const std::string l = AsciiLower(c);
    if (l.find("gcm") != std::string::npos || l == "2.16.840.1.101.3.4.1.6" ||
        l == "2.16.840.1.101.3.4.1.26" || l == "2.16.840.1.101.3.4.1.46") {
      return true;
    }
  }
  return false;
}

}  // namespace

int64_t PolicyProcessor::SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

PolicyProcessor::PolicyProcessor(PolicyConfig config, smime::SmimeConfig smime_config,
                                 keyservice::KeyService& keys, const smime::SmimeEngine& engine,
                                 metrics::Registry& registry, Clock clock)
    : config_(std::move(config)),
      smime_config_(std::move(smime_config)),
      keys_(keys),
      engine_(engine),
      metrics_(registry),
      clock_(std::move(clock)) {}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::Process(v1::MessageRecord record) {
  const v1::Direction direction = record.envelope().direction();
  if (direction != v1::DIRECTION_INBOUND && direction != v1::DIRECTION_OUTBOUND) {
    // Signing for mail of unknown origin would break invariant 6: dead-letter it.
    return MakeError(ErrorCode::kInvalidArgument,
                     "record " + record.envelope().message_id() + " has no direction");
  }
  Result<std::vector<v1::MessageRecord>> out =
      direction == v1::DIRECTION_INBOUND ? ProcessInbound(record) : ProcessOutbound(record);
  if (out.ok()) {
    for (const auto& r : *out) metrics_.Form(DirectionName(r.envelope().direction()));
  }
  return out;
}

Result<smime::PreparedSigner> PolicyProcessor::Signer(const keyservice::SigningIdentity& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = signers_.find(id.key_id);
    if (it != signers_.end()) return it->second;
  }
  smime::SignerIdentity identity;
  SG_ASSIGN_OR_RETURN(identity.key, KeyFromDer(id.private_key_der));
  SG_ASSIGN_OR_RETURN(identity.cert, smime::ParseCertificate(id.certificate_der));
  for (const auto& der : id.chain_der) {
    SG_ASSIGN_OR_RETURN(auto c, smime::ParseCertificate(der));
    identity.chain.push_back(std::move(c));
  }
  smime::PreparedSignerOptions options;
  options.digest = smime_config_.digest;
  SG_ASSIGN_OR_RETURN(auto signer, smime::PreparedSigner::Create(identity, options));
  std::lock_guard<std::mutex> lock(mu_);
  if (signers_.size() > 10000) signers_.clear();  // bounded: a rebuild is cheap
  signers_.emplace(id.key_id, signer);
  return signer;
}

Result<smime::KeyPair> PolicyProcessor::DecryptionPair(const keyservice::DecryptionKey& k) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = decryption_keys_.find(k.key_id);
    if (it != decryption_keys_.end()) return it->second;
  }
  SG_ASSIGN_OR_RETURN(auto key, KeyFromDer(k.private_key_der));
  SG_ASSIGN_OR_RETURN(auto cert, smime::ParseCertificate(k.certificate_der));
  smime::KeyPair pair{std::move(key), std::move(cert)};
  std::lock_guard<std::mutex> lock(mu_);
  if (decryption_keys_.size() > 10000) decryption_keys_.clear();  // bounded
  if (!k.key_id.empty()) decryption_keys_.emplace(k.key_id, pair);
  return pair;
}

Result<smime::X509Ptr> PolicyProcessor::RecipientCert(const std::string& der) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recipient_certs_.find(der);
    if (it != recipient_certs_.end()) return it->second;
  }
  SG_ASSIGN_OR_RETURN(auto cert, smime::ParseCertificate(der));
  std::lock_guard<std::mutex> lock(mu_);
  if (recipient_certs_.size() > 10000) recipient_certs_.clear();  // bounded
  recipient_certs_.emplace(der, cert);
  return cert;
}

Result<smime::TrustStore> PolicyProcessor::Trust() {
  SG_ASSIGN_OR_RETURN(auto anchors, keys_.GetTrustAnchors());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (trust_ && trust_->first == anchors.version) return trust_->second;
  }
  smime::TrustStoreOptions options;
  options.use_system_roots = smime_config_.trust_system_roots;
  for (const auto& der : anchors.der) {
    auto cert = smime::ParseCertificate(der);
    if (!cert.ok()) {
      spdlog::warn("policy: trust anchor from the keyservice skipped: {}", cert.error().ToString());
      continue;
    }
    options.anchors.push_back(*cert);
  }
  SG_ASSIGN_OR_RETURN(auto store, smime::TrustStore::Create(options));
  std::lock_guard<std::mutex> lock(mu_);
  trust_.emplace(anchors.version, store);
  return store;
}

// ---------------------------------------------------------------- outbound

void PolicyProcessor::Bounce(const v1::MessageRecord& record,
                             const std::vector<mail::FailedRecipient>& failed, const char* what,
                             std::vector<v1::MessageRecord>& outputs) {
  if (failed.empty()) return;
  const auto& env = record.envelope();
  std::vector<mail::FailedRecipient> notify;
  for (const auto& f : failed) {
    if (mail::WantsFailureDsn(f.recipient)) notify.push_back(f);
  }
  if (env.mail_from().empty() || notify.empty()) {
    spdlog::warn("policy message_id={} direction={}: {} recipient(s) {} and no DSN ({})",
                 env.message_id(), DirectionName(env.direction()), failed.size(), what,
                 env.mail_from().empty() ? "null sender" : "NOTIFY=NEVER");
    return;
  }
  mail::DsnContext ctx{config_.reporting_mta, config_.postmaster, clock_()};
  outputs.push_back(mail::BuildFailureDsn(record, notify, ctx));
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::ProcessOutbound(
    const v1::MessageRecord& record) {
  const auto& env = record.envelope();
  const std::string& original = record.message();
  const std::string sender = AsciiLower(env.mail_from());

  // Only the authorised envelope sender is signed for, and only when the
  // From header names the same mailbox (a signature must match From).
  std::optional<keyservice::SigningIdentity> identity;
  std::string sender_rule;
  if (!sender.empty()) {
    SG_ASSIGN_OR_RETURN(bool participates, keys_.Participates(sender));
    if (participates) {
      if (FromAddress(original) != sender) {
        sender_rule = "from-mismatch";
      } else {
        SG_ASSIGN_OR_RETURN(identity, keys_.GetSigningIdentity(sender));
        if (!identity) sender_rule = "no-signing-identity";
      }
    }
  }

  MessageFacts facts;
  facts.sender_participates = identity.has_value();
  const smime::SmimeKind kind = smime::DetectSmime(original);
  facts.already_encrypted = kind == smime::SmimeKind::kEnveloped ||
                            kind == smime::SmimeKind::kAuthEnveloped;
  facts.already_signed = kind == smime::SmimeKind::kSignedDetached ||
                         kind == smime::SmimeKind::kSignedOpaque;
  facts.company_confidential = CompanyConfidential(original);
  facts.never_encrypt_part = NeverEncryptPart(original, engine_.limits());

  // Tags are the participating users' controls; they leave the subject
  // before anything is signed.
  std::string message = original;
  if (facts.sender_participates) {
    if (auto subject = GetSubject(original)) {
      ParsedSubject parsed = ParseSubject(*subject);
      facts.tags = parsed.tags;
      if (parsed.cleaned) {
        SG_ASSIGN_OR_RETURN(message, SetSubject(original, *parsed.cleaned));
      }
    }
  }

  std::vector<v1::MessageRecord> outputs;
  std::vector<v1::Recipient> unchanged, signed_only;
  std::vector<std::string> unchanged_rules, signed_rules;
  std::vector<mail::FailedRecipient> failed;
  std::optional<std::string> signed_message;
  std::optional<smime::PreparedSigner> signer;

  auto sign_once = [&]() -> Status {
    if (signed_message) return OkStatus();
    if (!signer) {
      SG_ASSIGN_OR_RETURN(auto s, Signer(*identity));
      signer = std::move(s);
    }
    smime::SignOptions options;
    options.digest = smime_config_.digest;
    options.signing_time = static_cast<std::time_t>(clock_() / 1000);
    auto signed_or = engine_.Sign(message, *signer, options);
    if (!signed_or.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "signing for " + sender + " failed: " + signed_or.error().ToString());
    }
    signed_message = std::move(*signed_or);
    return OkStatus();
  };

  int enc_index = 0;
  for (const auto& rcpt : env.recipients()) {
    const std::string addr = AsciiLower(rcpt.address());
    RecipientFacts rf;
    rf.rule = FindAdminRule(config_, addr);
    std::optional<keyservice::EncryptionCertificate> cert;
    if (!facts.already_encrypted) {
      SG_ASSIGN_OR_RETURN(cert, keys_.GetEncryptionCertificate(addr));
    }
    if (cert) {
      (cert->domain_certificate ? rf.domain_cert : rf.personal_cert) = true;
      if (!cert->domain_certificate_der.empty()) rf.domain_cert = true;
    }
    Decision d = DecideOutbound(facts, rf, config_.web_encryption);
    if (!facts.sender_participates && !sender_rule.empty() && d.form == Form::kUnchanged) {
      d.rule = sender_rule;
    }
    if (!facts.tags.Names().empty()) d.rule += " tags=" + facts.tags.Names();
    metrics_.Recipient("outbound", MetricAction(d.form));

    switch (d.form) {
      case Form::kUnchanged:
        unchanged.push_back(rcpt);
        unchanged_rules.push_back(d.rule);
        break;
      case Form::kSigned:
        signed_only.push_back(rcpt);
        signed_rules.push_back(d.rule);
        break;
      case Form::kEncrypted:
      case Form::kSignedEncrypted: {
        // The decision may pick the domain certificate over a personal one
        // (a sender who does not participate).
        const bool use_domain = d.domain_cert && !cert->domain_certificate;
        const std::string& der =
            use_domain ? cert->domain_certificate_der : cert->certificate_der;
        const auto& caps = use_domain ? cert->domain_capabilities : cert->capabilities;
        auto x509 = RecipientCert(der);
        if (!x509.ok()) {
          return MakeError(ErrorCode::kCorruption, "certificate of " + addr +
                                                       " from the keyservice: " +
                                                       x509.error().ToString());
        }
        smime::Recipient r;
        r.cert = *x509;
        r.supports_aes_gcm = AnnouncesAesGcm(caps);
        r.rsa_oaep = smime_config_.rsa_oaep;
        smime::EncryptOptions options;
        options.cipher = smime_config_.content_cipher;
        std::string_view content = message;
        if (d.form == Form::kSignedEncrypted) {
          SG_RETURN_IF_ERROR(sign_once());
          content = *signed_message;
          options.transport_encode = false;  // signed bytes are never re-encoded
        } else if (facts.already_signed) {
          options.transport_encode = false;
        }
        auto enc = engine_.Encrypt(content, std::span<const smime::Recipient>(&r, 1), options);
        if (!enc.ok()) {
          // Permanent: dead-lettered, never delivered in clear.
          return MakeError(ErrorCode::kInvalidArgument,
                           "encrypting for " + addr + " failed: " + enc.error().ToString());
        }
        const std::string form_id = "enc-" + std::to_string(++enc_index);
        v1::MessageRecord out = Derive(record, std::move(enc->message), form_id, {rcpt});
        const std::string action = std::string(FormName(d.form));
        Note(out, action, d.rule, addr);
        LogDecision(record, addr, action, d.rule, form_id,
                    "cert=" + std::string(d.domain_cert ? "domain" : "personal") +
                        " cipher=" + enc->cipher_name);
        metrics_.Encrypted(d.domain_cert ? "domain" : "personal");
        outputs.push_back(std::move(out));
        break;
      }
      case Form::kWebEncryption:
        // ParsePolicyConfig refuses web_encryption until the portal exists.
        return MakeError(ErrorCode::kUnsupported,
                         "web encryption chosen for " + addr + " but the portal is not built");
      case Form::kBounce: {
        metrics_.Bounce("forced_no_certificate");
        LogDecision(record, addr, "bounce", d.rule, "", "status=5.7.1");
        mail::FailedRecipient f;
        f.recipient = rcpt;
        f.status = "5.7.1";
        f.diagnostic = "550 5.7.1 " + d.reason;
        failed.push_back(std::move(f));
        break;
      }
    }
  }

  if (!signed_only.empty()) {
    SG_RETURN_IF_ERROR(sign_once());
    v1::MessageRecord out = Derive(record, *signed_message, "signed", signed_only);
    for (size_t i = 0; i < signed_only.size(); ++i) {
      Note(out, "signed", signed_rules[i], AsciiLower(signed_only[i].address()));
      LogDecision(record, AsciiLower(signed_only[i].address()), "signed", signed_rules[i],
                  "signed");
    }
    outputs.push_back(std::move(out));
  }
  if (!unchanged.empty()) {
    // [plain] (and the other tags) are removed from the subject; everything
    // else is delivered as received.
    v1::MessageRecord out = Derive(record, message, "unchanged", unchanged);
    for (size_t i = 0; i < unchanged.size(); ++i) {
      Note(out, "passed", unchanged_rules[i], AsciiLower(unchanged[i].address()));
      LogDecision(record, AsciiLower(unchanged[i].address()), "passed", unchanged_rules[i],
                  "unchanged");
    }
    outputs.push_back(std::move(out));
  }
  Bounce(record, failed, "not sent", outputs);
  return outputs;
}

// ----------------------------------------------------------------- inbound

Result<std::string> PolicyProcessor::VerifyAndHarvest(std::string_view message,
                                                      const std::string& message_id) {
  SG_ASSIGN_OR_RETURN(auto trust, Trust());
  const std::time_t now = static_cast<std::time_t>(clock_() / 1000);
  smime::VerifyOptions options;
  options.check_from_address = smime_config_.check_from_address;
  auto verified = engine_.Verify(message, trust, now, options);
  if (!verified.ok()) {
    metrics_.Verified("error");
    spdlog::info("policy message_id={} verify: {}", message_id, verified.error().ToString());
    return std::string("[signed INVALID]");
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
                   req.address, OutcomeName(harvested->outcome),
                   harvested->reason);
    } else {
      // The message is still delivered; the next signed message harvests again.
      metrics_.Harvest("error");
      spdlog::warn("policy message_id={} harvest signer=<{}> failed: {}", message_id, req.address,
                   harvested.error().ToString());
    }
  }
  spdlog::info("policy message_id={} verify status={} signer=<{}>{}", message_id, status_name,
               verified->from_address, verified->detail.empty() ? "" : " detail=" + verified->detail);
  return std::string(good ? "[signed OK]" : "[signed INVALID]");
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::ProcessInbound(
    const v1::MessageRecord& record) {
  const auto& env = record.envelope();
  const std::string& message = record.message();
  const smime::SmimeKind kind = smime::DetectSmime(message);
  std::vector<v1::MessageRecord> outputs;

  // Marks are the gateway's word: any the sender wrote are removed first.
  auto mark = [&](const std::string& msg, const std::string& marks) -> Result<std::string> {
    std::string subject = GetSubject(msg).value_or("");
    if (auto stripped = StripForgedMarks(subject)) subject = *stripped;
    return SetSubject(msg, MarkSubject(marks, subject));
  };

  const bool encrypted =
      kind == smime::SmimeKind::kEnveloped || kind == smime::SmimeKind::kAuthEnveloped;
  const bool signed_msg =
      kind == smime::SmimeKind::kSignedDetached || kind == smime::SmimeKind::kSignedOpaque;

  if (!encrypted) {
    std::string out_msg = message;
    std::string action = "passed", rule = "inbound-not-smime";
    if (signed_msg) {
      SG_ASSIGN_OR_RETURN(std::string tag, VerifyAndHarvest(message, env.message_id()));
      // Only the Subject changes: the signature stays valid (invariant 7).
      SG_ASSIGN_OR_RETURN(out_msg, mark(message, tag));
      action = "verified";
      rule = tag == "[signed OK]" ? "signature-good" : "signature-invalid";
    } else {
      if (kind != smime::SmimeKind::kNone) {
        rule = "inbound-smime-" + std::string(smime::SmimeKindName(kind));
      }
      if (auto subject = GetSubject(message)) {
        if (auto stripped = StripForgedMarks(*subject)) {
          SG_ASSIGN_OR_RETURN(out_msg, SetSubject(message, *stripped));
          rule += ",forged-mark-removed";
        }
      }
    }
    std::vector<v1::Recipient> all(env.recipients().begin(), env.recipients().end());
    v1::MessageRecord out = Derive(record, std::move(out_msg), action, all);
    for (const auto& r : all) {
      Note(out, action, rule, AsciiLower(r.address()));
      LogDecision(record, AsciiLower(r.address()), action, rule, action);
      metrics_.Recipient("inbound", action);
    }
    outputs.push_back(std::move(out));
    return outputs;
  }

  // Encrypted: each recipient is decrypted with its own keys, so nobody
  // receives content only another recipient's key could open.
  std::vector<mail::FailedRecipient> failed;
  std::vector<v1::Recipient> passed;
  int index = 0;
  for (const auto& rcpt : env.recipients()) {
    const std::string addr = AsciiLower(rcpt.address());
    SG_ASSIGN_OR_RETURN(auto keys, keys_.GetDecryptionKeys(addr));
    if (keys.empty()) {
      SG_ASSIGN_OR_RETURN(bool participates, keys_.Participates(addr));
      if (!participates) {
        // Not ours to decrypt: end-to-end encryption to a user who keeps
        // their own key. Delivered as received.
        passed.push_back(rcpt);
        continue;
      }
    }
    std::vector<smime::KeyPair> pairs;
    for (const auto& k : keys) {
      auto pair = DecryptionPair(k);
      if (!pair.ok()) {
        spdlog::warn("policy: key {} of {} unusable, skipped: {}", k.key_id, k.owner,
                     pair.error().ToString());
        continue;
      }
      pairs.push_back(std::move(*pair));
    }
    std::string current = message;
    std::string error;
    int layers = 0;
    bool auth = false;
    while (layers < config_.max_layers) {
      const auto k = smime::DetectSmime(current);
      if (k != smime::SmimeKind::kEnveloped && k != smime::SmimeKind::kAuthEnveloped) break;
      auto dec = engine_.Decrypt(current, pairs);
      if (!dec.ok()) {
        error = dec.error().code == ErrorCode::kNotFound
                    ? "no key of the recipient matches the message"
                    : "the message cannot be decrypted (" + dec.error().message + ")";
        break;
      }
      auth = dec->auth_enveloped;
      current = std::move(dec->message);
      ++layers;
    }
    if (error.empty() && layers == config_.max_layers) {
      const auto k = smime::DetectSmime(current);
      if (k == smime::SmimeKind::kEnveloped || k == smime::SmimeKind::kAuthEnveloped) {
        error = "more than " + std::to_string(config_.max_layers) + " layers of encryption";
      }
    }
    if (!error.empty()) {
      metrics_.Bounce("undecryptable");
      metrics_.Recipient("inbound", "bounced");
      LogDecision(record, addr, "bounce", "undecryptable", "", "status=5.7.5 reason=\"" + error + "\"");
      mail::FailedRecipient f;
      f.recipient = rcpt;
      f.status = "5.7.5";
      f.diagnostic = "550 5.7.5 The encrypted message could not be decrypted for this recipient: " +
                     error + ". It was not delivered.";
      failed.push_back(std::move(f));
      continue;
    }
    std::string marks = "[secure]";
    std::string rule = auth ? "decrypted-authenveloped" : "decrypted";
    const auto inner = smime::DetectSmime(current);
    if (inner == smime::SmimeKind::kSignedDetached || inner == smime::SmimeKind::kSignedOpaque) {
      SG_ASSIGN_OR_RETURN(std::string tag, VerifyAndHarvest(current, env.message_id()));
      marks += " " + tag;
      rule += tag == "[signed OK]" ? ",signature-good" : ",signature-invalid";
    }
    SG_ASSIGN_OR_RETURN(std::string out_msg, mark(current, marks));
    const std::string form_id = "dec-" + std::to_string(++index);
    v1::MessageRecord out = Derive(record, std::move(out_msg), form_id, {rcpt});
    Note(out, "decrypted", rule, addr);
    LogDecision(record, addr, "decrypted", rule, form_id);
    metrics_.Recipient("inbound", "decrypted");
    outputs.push_back(std::move(out));
  }
  if (!passed.empty()) {
    v1::MessageRecord out = Derive(record, message, "unchanged", passed);
    for (const auto& r : passed) {
      Note(out, "passed", "encrypted-not-hosted", AsciiLower(r.address()));
      LogDecision(record, AsciiLower(r.address()), "passed", "encrypted-not-hosted", "unchanged");
      metrics_.Recipient("inbound", "passed");
    }
    outputs.push_back(std::move(out));
  }
  Bounce(record, failed, "undecryptable, not delivered", outputs);
  return outputs;
}

}  // namespace sg::workers
