#include "portal/portal_vault.h"

#include <cstdio>

namespace sg::portal {
namespace {

std::string Aad(std::string_view what, const std::string& recipient, const std::string& id) {
  std::string aad(what);
  aad.push_back('\0');
  aad += recipient;
  aad.push_back('\0');
  aad += id;
  return aad;
}

std::string KeyAad(const std::string& id) { return Aad("portal-key", id, ""); }

}  // namespace

std::string NewMessageId(int64_t now_ms) {
  char time_hex[17];
  std::snprintf(time_hex, sizeof time_hex, "%016llx", static_cast<unsigned long long>(now_ms));
  return std::string(time_hex) + Hex(RandomBytes(8));
}

Result<std::unique_ptr<PortalVault>> PortalVault::Open(const SecretKey& kek, PortalStore& store,
                                                       const Clock& clock) {
  std::unique_ptr<PortalVault> vault(new PortalVault(store, clock));
  SG_ASSIGN_OR_RETURN(auto sealed, store.GetKeys());
  if (sealed.empty()) {
    pb::SealedPortalKey k;
    k.set_id(Hex(RandomBytes(8)));
    SecretKey fresh = SecretKey::Random();
    std::string raw = fresh.Bytes();
    k.set_sealed(Seal(kek, raw, KeyAad(k.id())));
    Wipe(raw);
    k.set_created_ms(clock.NowMs());
    SG_RETURN_IF_ERROR(store.PutKey(k));
    sealed.push_back(k);
  }
  int64_t newest = -1;
  for (const auto& k : sealed) {
    auto raw = sg::portal::Open(kek, k.sealed(), KeyAad(k.id()));
    if (!raw.ok()) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "portal: the portal key in the store does not open with this key-encryption "
                       "key (portal.kek_file / portal.kek_env is not the one the store was made "
                       "with, or the store was tampered with)");
    }
    auto key = SecretKey::FromBytes(*raw);
    Wipe(*raw);
    SG_RETURN_IF_ERROR(key.ok() ? OkStatus() : Status(key.error()));
    vault->portal_keys_.emplace(k.id(), *key);
    if (k.created_ms() > newest) {
      newest = k.created_ms();
      vault->current_id_ = k.id();
    }
  }
  return vault;
}

const SecretKey* PortalVault::PortalKey(const std::string& id) const {
  auto it = portal_keys_.find(id);
  return it == portal_keys_.end() ? nullptr : &it->second;
}

Result<PutOutcome> PortalVault::Store(const IncomingMessage& in) {
  SG_ASSIGN_OR_RETURN(auto existing, store_.FindBySource(in.source_key));
  if (existing) return PutOutcome{*existing, false, false};
  SG_ASSIGN_OR_RETURN(auto out, store_.PutMessages({Prepare(in)}));
  return std::move(out.at(0));
}

NewMessage PortalVault::Prepare(const IncomingMessage& in) const {
  NewMessage out;
  pb::StoredMessage& m = out.message;
  const int64_t now = clock_.NowMs();
  m.set_recipient(in.recipient);
  m.set_id(NewMessageId(now));
  m.set_source_key(in.source_key);
  m.set_queue_message_id(in.queue_message_id);
  m.set_sender(in.sender);
  m.set_sender_domain(in.sender_domain);
  m.set_stored_at_ms(now);
  m.set_expires_at_ms(in.expires_at_ms);
  m.set_size(in.content.size());
  m.set_key_id(current_id_);
  SecretKey data_key = SecretKey::Random();
  std::string raw = data_key.Bytes();
  m.set_wrapped_key(Seal(portal_keys_.at(current_id_), raw, Aad("data-key", m.recipient(), m.id())));
  Wipe(raw);
  m.set_sealed_summary(
      Seal(data_key, in.summary.SerializeAsString(), Aad("summary", m.recipient(), m.id())));
  out.sealed_content = Seal(data_key, in.content, Aad("content", m.recipient(), m.id()));
  return out;
}

Result<SecretKey> PortalVault::DataKey(const pb::StoredMessage& m) {
  const SecretKey* pk = PortalKey(m.key_id());
  if (pk == nullptr) {
    return MakeError(ErrorCode::kPermissionDenied, "portal: message sealed under an unknown key");
  }
  SG_ASSIGN_OR_RETURN(std::string raw,
                      sg::portal::Open(*pk, m.wrapped_key(), Aad("data-key", m.recipient(), m.id())));
  auto key = SecretKey::FromBytes(raw);
  Wipe(raw);
  return key;
}

Result<std::string> PortalVault::Content(const pb::StoredMessage& m) {
  SG_ASSIGN_OR_RETURN(SecretKey key, DataKey(m));
  SG_ASSIGN_OR_RETURN(std::string sealed, store_.GetContent(m.recipient(), m.id()));
  return sg::portal::Open(key, sealed, Aad("content", m.recipient(), m.id()));
}

Result<pb::Summary> PortalVault::Summary(const pb::StoredMessage& m) {
  SG_ASSIGN_OR_RETURN(SecretKey key, DataKey(m));
  SG_ASSIGN_OR_RETURN(std::string raw, sg::portal::Open(key, m.sealed_summary(),
                                                        Aad("summary", m.recipient(), m.id())));
  pb::Summary s;
  if (!s.ParseFromString(raw)) return MakeError(ErrorCode::kCorruption, "summary does not parse");
  return s;
}

std::string PortalVault::SealSecret(const std::string& secret, const std::string& aad,
                                    std::string* key_id) {
  *key_id = current_id_;
  return Seal(portal_keys_.at(current_id_), secret, aad);
}

Result<std::string> PortalVault::OpenSecret(const std::string& sealed, const std::string& aad,
                                            const std::string& key_id) {
  const SecretKey* pk = PortalKey(key_id);
  if (pk == nullptr) return MakeError(ErrorCode::kPermissionDenied, "unknown portal key");
  return sg::portal::Open(*pk, sealed, aad);
}

}  // namespace sg::portal
