#include "workers/policy/policy_dkim.h"

#include <spdlog/spdlog.h>

#include "common/mail/address.h"
#include "workers/policy/policy_content.h"

namespace sg::workers {

namespace v1 = ::smimegate::v1;

OutboundDkim::OutboundDkim(dkim::DkimSignMode mode, keyservice::KeyService& keys,
                           metrics::Registry& registry)
    : mode_(mode), keys_(keys), metrics_(registry) {
  if (mode_ == dkim::DkimSignMode::kOff) return;
  auto signer = dkim::DkimSigner::Create();
  if (!signer.ok()) {
    spdlog::error("dkim: {}; outbound mail goes out without DKIM signatures",
                  signer.error().ToString());
    return;
  }
  signer_ = std::move(*signer);
}

void OutboundDkim::Apply(const std::string& original, std::vector<v1::MessageRecord>& outputs) {
  for (auto& out : outputs) {
    if (out.destination() == v1::DESTINATION_PORTAL) continue;
    SignOne(original, out);
  }
}

void OutboundDkim::SignOne(const std::string& original, v1::MessageRecord& out) {
  const bool modified = out.message() != original;
  if (!dkim::WantsDkim(mode_, modified)) {
    metrics_.Count(dkim::DkimVerdictName(dkim::DecideDkim(mode_, modified, false, false)));
    return;
  }
  const std::string domain = mail::DomainOf(FromAddress(out.message()));
  std::optional<keyservice::DkimSigningKey> key;
  if (!domain.empty()) {
    auto found = keys_.GetDkimKey(domain);
    if (!found.ok()) {
      metrics_.Count("key_error");
      spdlog::warn("dkim: message {} to {} goes out without DKIM: {}", out.envelope().message_id(),
                   domain, found.error().ToString());
      return;
    }
    key = std::move(*found);
  }
  const dkim::DkimVerdict verdict =
      dkim::DecideDkim(mode_, modified, !domain.empty(), key.has_value());
  if (verdict != dkim::DkimVerdict::kSign) {
    metrics_.Count(dkim::DkimVerdictName(verdict));
    return;
  }
  if (!signer_) {
    metrics_.Count("sign_error");
    return;
  }
  auto header = signer_->Sign(*key, out.message());
  if (!header.ok()) {
    metrics_.Count(header.error().code == ErrorCode::kInvalidArgument ? "key_error" : "sign_error");
    spdlog::warn("dkim: message {} goes out without DKIM: {}", out.envelope().message_id(),
                 header.error().ToString());
    return;
  }
  out.set_message(*header + out.message());
  metrics_.Count("signed");
}

}  // namespace sg::workers
