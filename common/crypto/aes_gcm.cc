#include "common/crypto/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

namespace sg::crypto {
namespace {

using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

void GcmSealAppend(const unsigned char* key, std::string_view plaintext, std::string_view aad,
                   std::string& out) {
  const size_t at = out.size();
  out.resize(at + kGcmNonceSize + plaintext.size() + kGcmTagSize);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data()) + at;
  unsigned char* ct = nonce + kGcmNonceSize;
  if (RAND_bytes(nonce, kGcmNonceSize) != 1) std::abort();  // no randomness: cannot continue safely
  CtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, U(plaintext), static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          ct + plaintext.size()) == 1;
  if (!ok) std::abort();  // AES-GCM with valid parameters cannot fail: a broken invariant
}

bool GcmOpen(const unsigned char* key, std::string_view sealed, std::string_view aad,
             std::string& out) {
  out.clear();
  if (sealed.size() < kGcmOverhead) return false;
  const unsigned char* nonce = U(sealed);
  const unsigned char* ct = nonce + kGcmNonceSize;
  const size_t n = sealed.size() - kGcmOverhead;
  out.assign(n, '\0');
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  CtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain, &len, ct, static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize),
                          const_cast<unsigned char*>(ct + n)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    out.clear();
  }
  return ok;
}

}  // namespace sg::crypto
