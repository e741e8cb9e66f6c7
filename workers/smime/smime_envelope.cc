#include "workers/smime/smime_envelope.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "common/mail/der.h"
#include "workers/smime/smime_der.h"

namespace sg::smime::internal {
namespace {

constexpr unsigned char kSequence = 0x30;
constexpr size_t kTagLen = 16;       // GCM tag (aes-ICVlen 16, as OpenSSL writes)
constexpr size_t kChunk = 1U << 30;  // EVP_EncryptUpdate takes an int length

std::string Tlv(unsigned char tag, std::string_view content) { return mail::DerTlv(tag, content); }

// Size of a TLV (low tag number) whose content is |len| bytes long.
size_t TlvSize(size_t len) {
  size_t length_octets = 1;
  if (len >= 128) {
    for (size_t l = len; l > 0; l >>= 8) ++length_octets;
  }
  return 1 + length_octets + len;
}

void AppendHeader(std::string& out, unsigned char tag, size_t len) {
  out.push_back(static_cast<char>(tag));
  mail::AppendDerLength(out, len);
}

// This thread's cipher context, reused for every message (re-initialised by
// EVP_EncryptInit_ex2, which keeps the allocation).
EVP_CIPHER_CTX* ThreadCipherCtx() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

// The content-encryption key and IV, cleansed when the call ends.
struct Secrets {
  std::array<unsigned char, EVP_MAX_KEY_LENGTH> key{};
  std::array<unsigned char, EVP_MAX_IV_LENGTH> iv{};
  ~Secrets() { OPENSSL_cleanse(key.data(), key.size()); }
};

// Encrypts |content| into |out| (exactly |expect| bytes of ciphertext) and,
// for an AEAD cipher, writes the tag to |tag|.
Status EncryptInto(const EVP_CIPHER* cipher, const Secrets& s,
                   std::span<const std::string_view> content, unsigned char* out, size_t expect,
                   unsigned char* tag) {
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  if (ctx == nullptr || EVP_EncryptInit_ex2(ctx, cipher, s.key.data(), s.iv.data(), nullptr) != 1) {
    return MakeError(ErrorCode::kInternal,
                     "encrypt: cannot start the cipher (" + TakeOpenSslError() + ")");
  }
  size_t pos = 0;
  for (std::string_view piece : content) {
    while (!piece.empty()) {
      size_t n = std::min(piece.size(), kChunk);
      int len = 0;
      if (EVP_EncryptUpdate(ctx, out + pos, &len,
                            reinterpret_cast<const unsigned char*>(piece.data()),
                            static_cast<int>(n)) != 1) {
        return MakeError(ErrorCode::kInternal,
                         "encrypt: cipher failed (" + TakeOpenSslError() + ")");
      }
      pos += static_cast<size_t>(len);
      piece.remove_prefix(n);
    }
  }
  int len = 0;
  if (EVP_EncryptFinal_ex(ctx, out + pos, &len) != 1 ||
      (tag != nullptr &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagLen), tag) != 1)) {
    return MakeError(ErrorCode::kInternal, "encrypt: cipher failed (" + TakeOpenSslError() + ")");
  }
  pos += static_cast<size_t>(len);
  if (pos != expect) return MakeError(ErrorCode::kInternal, "encrypt: ciphertext size mismatch");
  return OkStatus();
}

// contentEncryptionAlgorithm: AES-CBC with the IV as OCTET STRING (RFC
// 3565); AES-GCM with GCMParameters { aes-nonce, aes-ICVlen 16 } (RFC 5084).
std::string ContentAlgorithm(const EVP_CIPHER* cipher, const Secrets& s, bool aead) {
  int iv_len = EVP_CIPHER_get_iv_length(cipher);
  std::string iv = Tlv(0x04, std::string_view(reinterpret_cast<const char*>(s.iv.data()),
                                              static_cast<size_t>(iv_len)));
  if (aead) iv = Tlv(kSequence, iv + std::string("\x02\x01\x10", 3));
  return Tlv(kSequence, DerOid(EVP_CIPHER_get_nid(cipher)) + iv);
}

}  // namespace

Result<std::string> EncodeEnveloped(std::span<const std::string_view> content,
                                    std::span<const EnvelopeRecipient> recipients,
                                    const EVP_CIPHER* cipher) {
  size_t total = 0;
  for (std::string_view piece : content) total += piece.size();
  if (total > static_cast<size_t>(INT32_MAX) - 4096) {
    return MakeError(ErrorCode::kResourceExhausted, "CMS: content too large");
  }
  const bool aead = (EVP_CIPHER_get_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) != 0;
  const int key_len = EVP_CIPHER_get_key_length(cipher);
  Secrets s;
  if (RAND_priv_bytes(s.key.data(), key_len) != 1 ||
      RAND_bytes(s.iv.data(), EVP_CIPHER_get_iv_length(cipher)) != 1) {
    return MakeError(ErrorCode::kInternal, "encrypt: no randomness (" + TakeOpenSslError() + ")");
  }
  // RecipientInfos: a DER SET OF, sorted by encoding as OpenSSL's i2d does.
  std::vector<std::string> infos;
  infos.reserve(recipients.size());
  bool any_kari = false;
  for (const EnvelopeRecipient& r : recipients) {
    SG_ASSIGN_OR_RETURN(
        std::string info,
        r.prepared->EncodeRecipientInfo({s.key.data(), static_cast<size_t>(key_len)}, r.oaep));
    infos.push_back(std::move(info));
    any_kari = any_kari || r.prepared->key_agreement();
  }
  std::sort(infos.begin(), infos.end());
  size_t infos_len = 0;
  for (const std::string& i : infos) infos_len += i.size();

  const auto block = static_cast<size_t>(EVP_CIPHER_get_block_size(cipher));
  const size_t ct_len = aead ? total : (total / block + 1) * block;  // PKCS#7 padding
  const std::string eci_fields = DerOid(NID_pkcs7_data) + ContentAlgorithm(cipher, s, aead);
  const size_t eci_len = eci_fields.size() + TlvSize(ct_len);  // encryptedContent [0] IMPLICIT
  const size_t body_len = 3 + TlvSize(infos_len) + TlvSize(eci_len) + (aead ? TlvSize(kTagLen) : 0);
  const std::string type = DerOid(aead ? NID_id_smime_ct_authEnvelopedData : NID_pkcs7_enveloped);
  const size_t ci_len = type.size() + TlvSize(TlvSize(body_len));

  std::string out;
  out.reserve(TlvSize(ci_len));
  AppendHeader(out, kSequence, ci_len);
  out += type;
  AppendHeader(out, 0xA0, TlvSize(body_len));
  AppendHeader(out, kSequence, body_len);
  // RFC 5652 6.1: version 2 with a KeyAgreeRecipientInfo, 0 with ktri v0
  // only; AuthEnvelopedData is always version 0 (RFC 5083 2.1).
  out.append(any_kari && !aead ? "\x02\x01\x02" : "\x02\x01\x00", 3);
  AppendHeader(out, 0x31, infos_len);
  for (const std::string& i : infos) out += i;
  AppendHeader(out, kSequence, eci_len);
  out += eci_fields;
  AppendHeader(out, 0x80, ct_len);
  const size_t ct_pos = out.size();
  out.resize(ct_pos + ct_len);
  std::array<unsigned char, kTagLen> tag{};
  SG_RETURN_IF_ERROR(EncryptInto(cipher, s, content,
                                 reinterpret_cast<unsigned char*>(out.data() + ct_pos), ct_len,
                                 aead ? tag.data() : nullptr));
  if (aead) {
    AppendHeader(out, 0x04, kTagLen);
    out.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  }
  if (out.size() != TlvSize(ci_len)) {
    return MakeError(ErrorCode::kInternal, "encrypt: envelope size mismatch");
  }
  return out;
}

}  // namespace sg::smime::internal
