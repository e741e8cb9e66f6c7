// Unwrapping inbound S/MIME: every layer, in any order (issue 15).
//
// A message may be signed (detached multipart/signed or opaque signed-data)
// and encrypted (enveloped or auth-enveloped data) any number of times in
// any order: sign-then-encrypt, encrypt-then-sign, triple wrap, a signature
// added by a forwarding gateway. The Unwrapper walks the layers from the
// outside in, at most `max_layers` deep:
//   - a signature layer is verified (every SignerInfo, smime_engine.h); only
//     the outermost one is bound to From and to the Date header, as
//     Thunderbird binds the signature it shows. When what it signed is
//     itself S/MIME, the walk goes on inside;
//   - an encrypted layer is opened with the recipient's keys, after the
//     DecryptFailureGuard has seen its content key (a key replayed with
//     other ciphertext is never decrypted);
//   - anything else ends the walk.
//
// What is delivered: when a layer was decrypted, the content under the
// deepest decrypted layer with the outer headers (signature layers inside it
// are kept intact, so the reader's client can verify them too; signatures
// over a decrypted layer are gone with the ciphertext they signed, and are
// reported in the detail header); otherwise the message as received.
//
// Signature layers before the first encrypted layer are the same for every
// recipient: Common() walks them once; ForRecipient() goes on from there
// with one recipient's keys.
//
// Threading: one Unwrapper per message, used by one thread. The engine,
// trust store and guard are shared and thread-safe.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/decrypt_guard.h"
#include "workers/smime/smime_engine.h"

namespace sg::workers {

struct UnwrapOptions {
  int max_layers = 4;
  bool check_from_address = true;  // the outermost signature names From
  bool check_date = true;          // ... and its signingTime matches Date
  bool allow_sha1 = false;
  smime::DecryptOptions decrypt;
  smime::RevocationChecker* revocation = nullptr;  // every signature layer (revocation.h)
};

struct SignerSummary {
  std::string address;  // first email address of the certificate, "" when none
  smime::VerifyStatus status = smime::VerifyStatus::kNotSigned;
  std::string digest;
  bool weak = false;
  bool principal = false;
  std::optional<std::time_t> signing_time;
};

struct Layer {
  enum class Kind { kSignedDetached, kSignedOpaque, kEnveloped, kAuthEnveloped, kOther, kTooDeep };
  enum class Opened {
    kNo,         // not an encrypted layer
    kDecrypted,
    kNotOurs,    // for a user who keeps their own key
    kFailed,     // could not be opened with the recipient's keys
    kReplayed,   // content key seen before with other ciphertext: not decrypted
  };
  Kind kind = Kind::kOther;
  // Signature layers.
  smime::VerifyStatus status = smime::VerifyStatus::kNotSigned;
  std::string detail;             // logs only
  bool bound_to_from = false;     // the outermost signature
  bool over_decrypted = false;    // signs a layer that was decrypted
  std::vector<SignerSummary> signers;
  std::shared_ptr<const smime::VerifyResult> verified;  // for harvesting
  // Encrypted layers.
  Opened opened = Opened::kNo;
  std::string cipher;  // "aes-256-cbc"
  std::string reason;  // why it was not opened (logs and the admin only, never the sender)
  // kOther: the S/MIME kind that was not opened ("compressed").
  std::string other;
};
std::string_view LayerKindName(Layer::Kind kind);

struct Unwrapped {
  std::vector<Layer> layers;
  // Where the walk stands (the next layer, when not done) and what to
  // deliver: views into the message given to Common() (which must outlive
  // this) or into |buffers| (content the walk produced). Copies share them.
  std::string_view current;
  std::string_view deliver;
  std::vector<std::shared_ptr<const std::string>> buffers;
  bool decrypted = false;
  // The header block of the deepest decrypted entity (DecryptResult::
  // entity_header), for RFC 9788 header protection.
  std::string decrypted_header;
  // The header block of the entity under an opaque signature (signed-data)
  // when that signature is the top of |deliver| and signs no further S/MIME
  // layer (VerifyResult::entity_header), for RFC 9788 header protection.
  std::string signed_header;
  bool done = false;    // false: stopped at an encrypted layer, keys needed
  // For a layer that failed: what the failure DSN is keyed on (the content
  // key digest, else a digest of the encrypted structure).
  std::string failure_key;
};

// The recipient side of an encrypted layer.
struct RecipientKeys {
  std::span<const smime::KeyPair> pairs;
  bool keeps_own_key = false;  // no keys here and not participating: not ours to open
};

class Unwrapper {
 public:
  // |arrival| judges certificate validity; |message_id| goes to the guard.
  Unwrapper(const smime::SmimeEngine& engine, const smime::TrustStore& trust,
            keyservice::DecryptFailureGuard& guard, UnwrapOptions options, std::time_t arrival,
            std::string message_id);

  // The layers every recipient shares (signatures outside any encryption).
  // |message| must outlive the results.
  Result<Unwrapped> Common(std::string_view message) const;
  // Goes on from |common| with one recipient's keys. Errors: the guard's
  // (unavailable: retry the record later) and resource limits.
  Result<Unwrapped> ForRecipient(const Unwrapped& common, const RecipientKeys& keys) const;

 private:
  Status Walk(Unwrapped& u, const RecipientKeys* keys) const;
  Status VerifyLayer(Unwrapped& u, smime::SmimeKind kind, bool& go_on) const;
  Status OpenLayer(Unwrapped& u, smime::SmimeKind kind, const RecipientKeys& keys,
                   bool& go_on) const;

  const smime::SmimeEngine& engine_;
  const smime::TrustStore& trust_;
  keyservice::DecryptFailureGuard& guard_;
  UnwrapOptions options_;
  std::time_t arrival_;
  std::string message_id_;
};

}  // namespace sg::workers
