// A recipient's reply from the web-encryption portal (issue 17): the portal
// puts it on the inbound topic with origin PORTAL (never set by the SMTP
// ingress); each internal recipient gets it encrypted to their own
// certificate (a personal certificate in the store, else the one of their
// newest key), so it reaches the internal server as confidential as the
// message it answers. A recipient without a certificate of their own gets
// it unchanged (the internal leg; logged as such). The message already
// carries X-Smimegate-Portal: reply (portal/portal_mime.cc).
#include <algorithm>
#include <span>

#include "common/mail/address.h"
#include "workers/policy/policy_emit.h"
#include "workers/policy/policy_processor.h"

namespace sg::workers {
namespace v1 = smimegate::v1;

Result<std::optional<keyservice::EncryptionCertificate>> PolicyProcessor::OwnCertificate(
    const std::string& address) {
  SG_ASSIGN_OR_RETURN(auto cert, keys_.GetEncryptionCertificate(address));
  if (cert && !cert->domain_certificate) return cert;
  // A hosted user's own certificate is the one of their newest key (issued
  // by the gateway's CA or imported with the key).
  SG_ASSIGN_OR_RETURN(auto keys, keys_.GetDecryptionKeys(address));
  for (const auto& k : keys) {
    if (k.owner == address && !k.certificate_der.empty()) {
      keyservice::EncryptionCertificate own;
      own.owner = address;
      own.certificate_der = k.certificate_der;
      return std::optional<keyservice::EncryptionCertificate>(std::move(own));
    }
  }
  return std::optional<keyservice::EncryptionCertificate>();
}

// The portal is internet-facing and, in the distributed mode, a process of
// its own with producer rights on the inbound topic: its records are
// checked here again, not trusted (review M4). A reply always comes from an
// external reader and goes only to hosted addresses; anything else would
// make the gateway a relay sending mail in clear through the internal route.
Status PolicyProcessor::CheckPortalReply(const v1::MessageRecord& record) const {
  auto hosted = [&](const std::string& domain) {
    return std::find(config_.hosted_domains.begin(), config_.hosted_domains.end(), domain) !=
           config_.hosted_domains.end();
  };
  const std::string& from = record.envelope().mail_from();
  auto sender = mail::NormalizeAddress(from);
  if (!sender.ok()) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "portal reply refused: sender \"" + from + "\" is not an address");
  }
  if (hosted(mail::DomainOf(*sender))) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "portal reply refused: sender " + *sender +
                         " is in a hosted domain (replies come from external readers)");
  }
  for (const auto& rcpt : record.envelope().recipients()) {
    auto addr = mail::NormalizeAddress(rcpt.address());
    if (!addr.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "portal reply to \"" + rcpt.address() + "\": " + addr.error().message);
    }
    if (!hosted(mail::DomainOf(*addr))) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "portal reply refused: recipient " + *addr +
                           " is outside the hosted domains (the portal never relays)");
    }
  }
  return OkStatus();
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::ProcessPortalReply(
    const v1::MessageRecord& record) {
  if (Status s = CheckPortalReply(record); !s.ok()) {
    metrics_.Recipient("inbound", "refused");
    return s.error();
  }
  std::vector<v1::MessageRecord> outputs;
  std::vector<v1::Recipient> unchanged;
  int index = 0;
  for (const auto& rcpt : record.envelope().recipients()) {
    auto addr = mail::NormalizeAddress(rcpt.address());
    if (!addr.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "portal reply to \"" + rcpt.address() + "\": " + addr.error().message);
    }
    SG_ASSIGN_OR_RETURN(auto own, OwnCertificate(*addr));
    if (!own) {
      metrics_.Recipient("inbound", "passed");
      LogDecision(record, *addr, "passed", "portal-reply no-certificate", "portal-reply");
      unchanged.push_back(rcpt);
      continue;
    }
    SG_ASSIGN_OR_RETURN(auto prepared, RecipientCert(own->certificate_der));
    smime::Recipient r;
    r.cert = prepared->cert();
    r.prepared = std::move(prepared);
    r.supports_aes_gcm = AnnouncesAesGcm(own->capabilities);
    r.rsa_oaep = smime_config_.rsa_oaep;
    smime::EncryptOptions options;
    options.cipher = smime_config_.content_cipher;
    auto enc = engine_.Encrypt(record.message(), std::span<const smime::Recipient>(&r, 1), options);
    if (!enc.ok()) {
      // Permanent: dead-lettered, never delivered in clear.
      return MakeError(ErrorCode::kInvalidArgument,
                       "encrypting the portal reply for " + *addr + " failed: " +
                           enc.error().ToString());
    }
    const std::string form_id = "portal-reply-" + std::to_string(++index);
    v1::MessageRecord out = Derive(record, std::move(enc->message), form_id, {rcpt});
    Note(out, "encrypted", "portal-reply", *addr);
    LogDecision(record, *addr, "encrypted", "portal-reply", form_id,
                {{"cipher", enc->cipher_name}});
    metrics_.Recipient("inbound", "encrypted");
    outputs.push_back(std::move(out));
  }
  if (!unchanged.empty()) {
    v1::MessageRecord out = Derive(record, record.message(), "portal-reply", unchanged);
    for (const auto& r : unchanged) Note(out, "passed", "portal-reply no-certificate", r.address());
    outputs.push_back(std::move(out));
  }
  return outputs;
}

}  // namespace sg::workers
