#include "workers/policy/policy_processor.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/mail/dsn.h"
#include "workers/policy/policy_emit.h"

namespace sg::workers {
namespace v1 = smimegate::v1;
namespace {

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

}  // namespace

PolicyProcessor::PolicyProcessor(PolicyConfig config, smime::SmimeConfig smime_config,
                                 keyservice::KeyService& keys,
                                 keyservice::DecryptFailureGuard& guard,
                                 const smime::SmimeEngine& engine, metrics::Registry& registry,
                                 const Clock& clock)
    : config_(std::move(config)),
      smime_config_(std::move(smime_config)),
      keys_(keys),
      guard_(guard),
      engine_(engine),
      metrics_(registry),
      clock_(clock) {
  if (config_.dkim_sign != dkim::DkimSignMode::kOff) {
    dkim_ = std::make_unique<OutboundDkim>(config_.dkim_sign, keys_, registry);
  }
  if (smime_config_.revocation.enabled) {
    revocation_metrics_ = std::make_unique<smime::RevocationMetrics>(registry);
    fetcher_ = std::make_unique<smime::CurlHttpFetcher>(smime_config_.revocation.allow_private_addresses);
    revocation_ = std::make_unique<smime::OnlineRevocationChecker>(
        smime_config_.revocation, *fetcher_, revocation_metrics_.get(), clock_);
  }
}

Result<std::vector<v1::MessageRecord>> PolicyProcessor::Process(v1::MessageRecord record) {
  const v1::Direction direction = record.envelope().direction();
  if (direction != v1::DIRECTION_INBOUND && direction != v1::DIRECTION_OUTBOUND) {
    // Signing for mail of unknown origin would break invariant 6: dead-letter it.
    return MakeError(ErrorCode::kInvalidArgument,
                     "record " + record.envelope().message_id() + " has no direction");
  }
  Result<std::vector<v1::MessageRecord>> out =
      record.envelope().origin() == v1::ORIGIN_PORTAL ? ProcessPortalReply(record)
      : direction == v1::DIRECTION_INBOUND            ? ProcessInbound(record)
                                                      : ProcessOutbound(record);
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

Result<std::shared_ptr<const smime::PreparedRecipient>> PolicyProcessor::RecipientCert(
    const std::string& der) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recipient_certs_.find(der);
    if (it != recipient_certs_.end()) return it->second;
  }
  SG_ASSIGN_OR_RETURN(auto cert, smime::ParseCertificate(der));
  auto prepared = smime::PreparedRecipient::Create(std::move(cert));
  std::lock_guard<std::mutex> lock(mu_);
  if (recipient_certs_.size() > 10000) recipient_certs_.clear();  // bounded
  recipient_certs_.emplace(der, prepared);
  return prepared;
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

std::vector<smime::KeyPair> PolicyProcessor::DecryptionPairs(
    const std::vector<keyservice::DecryptionKey>& keys) {
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
  return pairs;
}

void PolicyProcessor::Bounce(const v1::MessageRecord& record,
                             const std::vector<mail::FailedRecipient>& failed,
                             const char* what, std::vector<v1::MessageRecord>& outputs) {
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
  mail::DsnContext ctx{config_.reporting_mta, config_.postmaster, clock_.NowMs()};
  outputs.push_back(mail::BuildFailureDsn(record, notify, ctx));
}

}  // namespace sg::workers
