#include "workers/policy/policy_unwrap.h"

#include <openssl/evp.h>

#include "workers/smime/smime_detect.h"

namespace sg::workers {
namespace {

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) std::abort();
  return std::string(reinterpret_cast<char*>(md), len);
}

bool IsSigned(smime::SmimeKind k) {
  return k == smime::SmimeKind::kSignedDetached || k == smime::SmimeKind::kSignedOpaque;
}
bool IsEncrypted(smime::SmimeKind k) {
  return k == smime::SmimeKind::kEnveloped || k == smime::SmimeKind::kAuthEnveloped;
}
bool Unwrappable(smime::SmimeKind k) { return IsSigned(k) || IsEncrypted(k); }

std::vector<SignerSummary> Summaries(const smime::VerifyResult& v) {
  std::vector<SignerSummary> out;
  for (size_t i = 0; i < v.signers.size(); ++i) {
    const smime::SignerResult& s = v.signers[i];
    SignerSummary sum;
    sum.address = s.addresses.empty() ? std::string() : s.addresses.front();
    if (s.names_from && !v.from_address.empty()) sum.address = v.from_address;
    sum.status = s.status;
    sum.digest = s.digest;
    sum.weak = s.weak;
    sum.principal = i == v.principal;
    sum.signing_time = s.signing_time;
    out.push_back(std::move(sum));
  }
  return out;
}

}  // namespace

std::string_view LayerKindName(Layer::Kind kind) {
  switch (kind) {
    case Layer::Kind::kSignedDetached: return "signed-detached";
    case Layer::Kind::kSignedOpaque: return "signed-opaque";
    case Layer::Kind::kEnveloped: return "enveloped-data";
    case Layer::Kind::kAuthEnveloped: return "authenveloped-data";
    case Layer::Kind::kOther: return "other";
    case Layer::Kind::kTooDeep: return "too-deep";
  }
  return "unknown";
}

Unwrapper::Unwrapper(const smime::SmimeEngine& engine, const smime::TrustStore& trust,
                     keyservice::DecryptFailureGuard& guard, UnwrapOptions options,
                     std::time_t arrival, std::string message_id)
    : engine_(engine),
      trust_(trust),
      guard_(guard),
      options_(options),
      arrival_(arrival),
      message_id_(std::move(message_id)) {}

Result<Unwrapped> Unwrapper::Common(std::string_view message) const {
  Unwrapped u;
  u.current = message;
  u.deliver = message;
  SG_RETURN_IF_ERROR(Walk(u, nullptr));
  return u;
}

Result<Unwrapped> Unwrapper::ForRecipient(const Unwrapped& common, const RecipientKeys& keys) const {
  Unwrapped u = common;
  if (!u.done) SG_RETURN_IF_ERROR(Walk(u, &keys));
  return u;
}

Status Unwrapper::Walk(Unwrapped& u, const RecipientKeys* keys) const {
  for (;;) {
    const smime::SmimeKind kind = smime::DetectSmime(u.current);
    if (kind == smime::SmimeKind::kNone) break;
    if (!Unwrappable(kind)) {
      Layer other;
      other.kind = Layer::Kind::kOther;
      other.other = std::string(smime::SmimeKindName(kind));
      u.layers.push_back(std::move(other));
      break;
    }
    if (static_cast<int>(u.layers.size()) >= options_.max_layers) {
      Layer deep;
      deep.kind = Layer::Kind::kTooDeep;
      deep.status = smime::VerifyStatus::kMalformed;
      deep.reason = "more than " + std::to_string(options_.max_layers) + " S/MIME layers";
      if (IsEncrypted(kind)) {
        if (keys == nullptr) return OkStatus();  // per recipient: their failure
        deep.opened = Layer::Opened::kFailed;
        u.failure_key = Sha256(u.current);
      }
      u.layers.push_back(std::move(deep));
      break;
    }
    bool go_on = false;
    if (IsSigned(kind)) {
      SG_RETURN_IF_ERROR(VerifyLayer(u, kind, go_on));
    } else {
      if (keys == nullptr) return OkStatus();  // the rest needs a recipient's keys
      SG_RETURN_IF_ERROR(OpenLayer(u, kind, *keys, go_on));
    }
    if (!go_on) break;
  }
  u.done = true;
  return OkStatus();
}

Status Unwrapper::VerifyLayer(Unwrapped& u, smime::SmimeKind kind, bool& go_on) const {
  bool outermost = true;
  for (const Layer& l : u.layers) {
    if (l.kind == Layer::Kind::kSignedDetached || l.kind == Layer::Kind::kSignedOpaque) {
      outermost = false;
    }
  }
  smime::VerifyOptions vo;
  vo.check_from_address = outermost && options_.check_from_address;
  vo.check_date = outermost && options_.check_date;
  vo.allow_sha1 = options_.allow_sha1;
  vo.revocation = options_.revocation;
  SG_ASSIGN_OR_RETURN(smime::VerifyResult v, engine_.Verify(u.current, trust_, arrival_, vo));
  Layer layer;
  layer.kind = kind == smime::SmimeKind::kSignedOpaque ? Layer::Kind::kSignedOpaque
                                                       : Layer::Kind::kSignedDetached;
  layer.status = v.status;
  layer.detail = v.detail;
  layer.bound_to_from = outermost;
  layer.signers = Summaries(v);
  // What it signed is S/MIME too: go on inside, whatever the verdict (the
  // content is still the reader's; the verdict goes into the marks).
  go_on = Unwrappable(v.content_kind) && !v.content.empty();
  // An opaque signature over the payload of what is delivered: its header
  // fields are the protected ones (RFC 9788).
  if (v.opaque && v.content_kind == smime::SmimeKind::kNone &&
      u.current.data() == u.deliver.data()) {
    u.signed_header = std::move(v.entity_header);
  }
  layer.verified = std::make_shared<const smime::VerifyResult>(std::move(v));
  if (go_on) u.current = layer.verified->content;  // kept alive by the layer
  u.layers.push_back(std::move(layer));
  return OkStatus();
}

Status Unwrapper::OpenLayer(Unwrapped& u, smime::SmimeKind kind, const RecipientKeys& keys,
                            bool& go_on) const {
  go_on = false;
  Layer layer;
  layer.kind = kind == smime::SmimeKind::kAuthEnveloped ? Layer::Kind::kAuthEnveloped
                                                       : Layer::Kind::kEnveloped;
  if (keys.keeps_own_key) {
    layer.opened = Layer::Opened::kNotOurs;
    u.layers.push_back(std::move(layer));
    return OkStatus();
  }
  auto env = engine_.OpenEnvelope(u.current, keys.pairs, options_.decrypt);
  if (!env.ok()) {
    // No key of ours among the recipients, an algorithm we refuse, a broken
    // structure: no private-key operation happened.
    layer.opened = Layer::Opened::kFailed;
    layer.reason = env.error().message;
    u.failure_key = Sha256(u.current);
    u.layers.push_back(std::move(layer));
    return OkStatus();
  }
  layer.cipher = env->cipher;
  // The CMS content type decides, not the smime-type parameter a client wrote.
  layer.kind = env->auth_enveloped ? Layer::Kind::kAuthEnveloped : Layer::Kind::kEnveloped;
  keyservice::ContentKeySighting sighting{env->content_key_digest, env->ciphertext_digest,
                                          message_id_,
                                          static_cast<int64_t>(arrival_) * 1000};
  SG_ASSIGN_OR_RETURN(keyservice::ContentKeyVerdict verdict, guard_.ObserveContentKey(sighting));
  if (verdict == keyservice::ContentKeyVerdict::kReplayed) {
    layer.opened = Layer::Opened::kReplayed;
    layer.reason = "the encrypted content key was seen before with other ciphertext";
    u.layers.push_back(std::move(layer));
    return OkStatus();
  }
  auto dec = engine_.Decrypt(*env, keys.pairs, options_.decrypt);
  if (!dec.ok()) {
    layer.opened = Layer::Opened::kFailed;
    layer.reason = dec.error().message;
    u.failure_key = env->content_key_digest;
    u.layers.push_back(std::move(layer));
    return OkStatus();
  }
  layer.opened = Layer::Opened::kDecrypted;
  for (Layer& outer : u.layers) {
    if (outer.kind == Layer::Kind::kSignedDetached || outer.kind == Layer::Kind::kSignedOpaque) {
      outer.over_decrypted = true;
    }
  }
  u.layers.push_back(std::move(layer));
  u.decrypted = true;
  u.decrypted_header = std::move(dec->entity_header);
  auto plain = std::make_shared<const std::string>(std::move(dec->message));
  u.current = *plain;
  u.deliver = *plain;
  u.buffers.push_back(std::move(plain));
  go_on = true;
  return OkStatus();
}

}  // namespace sg::workers
