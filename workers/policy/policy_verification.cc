#include "workers/policy/policy_verification.h"

#include <ctime>

namespace sg::workers {
namespace {

constexpr size_t kMaxSigners = 4;    // listed per layer (the rest are counted)
constexpr size_t kMaxAddress = 100;  // characters of an address

// Printable ASCII without the characters that would end a token or a field.
std::string Safe(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const bool ok = c > ' ' && c < 127 && c != '<' && c != '>' && c != ';' && c != '"' &&
                    c != '\\';
    out.push_back(ok ? c : '?');
  }
  return out;
}

std::string IsoTime(std::time_t t) {
  struct tm tm_value {};
  gmtime_r(&t, &tm_value);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm_value);
  return buf;
}

std::string SignatureField(const Layer& l) {
  std::string f = std::string(LayerKindName(l.kind)) +
                  "; verdict=" + std::string(smime::VerifyStatusName(l.status));
  if (l.bound_to_from) f += "; from-bound";
  if (l.over_decrypted) f += "; over-decrypted";
  for (size_t i = 0; i < l.signers.size() && i < kMaxSigners; ++i) {
    const SignerSummary& s = l.signers[i];
    f += "; signer=<" + Safe(s.address, kMaxAddress) + ">";
    f += " status=" + std::string(smime::VerifyStatusName(s.status));
    if (!s.digest.empty()) f += " digest=" + Safe(s.digest, 20);
    if (s.weak) f += " weak";
    if (s.signing_time) f += " signed=" + IsoTime(*s.signing_time);
    if (s.principal) f += " principal";
  }
  if (l.signers.size() > kMaxSigners) {
    f += "; more-signers=" + std::to_string(l.signers.size() - kMaxSigners);
  }
  return f;
}

std::string EncryptionField(const Layer& l) {
  std::string f(LayerKindName(l.kind));
  if (!l.cipher.empty()) f += "; " + Safe(l.cipher, 30);
  switch (l.opened) {
    case Layer::Opened::kDecrypted: f += "; decrypted"; break;
    case Layer::Opened::kNotOurs: f += "; not-ours (encrypted for the recipient's own key)"; break;
    case Layer::Opened::kFailed: f += "; not-decrypted"; break;
    case Layer::Opened::kReplayed: f += "; not-decrypted"; break;
    case Layer::Opened::kNo: break;
  }
  return f;
}

}  // namespace

std::vector<std::string> VerificationFields(const std::vector<Layer>& layers) {
  std::vector<std::string> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    std::string f = std::to_string(i + 1) + " ";
    switch (l.kind) {
      case Layer::Kind::kSignedDetached:
      case Layer::Kind::kSignedOpaque:
        f += SignatureField(l);
        break;
      case Layer::Kind::kEnveloped:
      case Layer::Kind::kAuthEnveloped:
        f += EncryptionField(l);
        break;
      case Layer::Kind::kOther:
        f += "other:" + Safe(l.other, 30) + "; not-opened";
        break;
      case Layer::Kind::kTooDeep:
        f += "too-deep; not-opened";
        break;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace sg::workers
