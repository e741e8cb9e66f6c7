// A direct DER encoder for ContentInfo(EnvelopedData) (RFC 5652 6.1) and
// ContentInfo(AuthEnvelopedData) (RFC 5083, AES-GCM per RFC 5084) with key
// transport and key agreement recipients (internal to the engine; issue 21).
//
// Why: the encryption counterpart of PreparedSigner. The structure is fixed:
// the version (RFC 5652 6.1: 0 with version-0 KeyTransRecipientInfos only, 2
// with a KeyAgreeRecipientInfo; no originatorInfo, no unprotected
// attributes; AuthEnvelopedData always 0), the RecipientInfos, the EncryptedContentInfo with
// the content encrypted in one pass straight into the pre-sized output, and
// for AuthEnvelopedData the 16-byte GCM tag as mac. The lengths are
// definite, as OpenSSL's i2d output of CMS_encrypt is; every field except the
// random ones (content-encryption key, IV/nonce, encryptedKey, ephemeral
// key, ciphertext, mac) equals what CMS_encrypt writes for the same recipients
// (tests/workers/smime/smime_envelope_test.cc checks it field by field).
//
// Threading: any number of threads at once; each thread keeps one
// EVP_CIPHER_CTX (thread_local) and reuses it for every message.
// Randomness: the content-encryption key from RAND_priv_bytes, the IV/nonce
// from RAND_bytes; the key is cleansed before return.
#pragma once

#include <openssl/evp.h>

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_recipient.h"

namespace sg::smime::internal {

struct EnvelopeRecipient {
  const PreparedRecipient* prepared = nullptr;  // fast() must be true
  bool oaep = false;                            // RSAES-OAEP instead of PKCS#1 v1.5
};

// DER of the ContentInfo over the concatenation of |content|. |cipher| is a
// fetched AES-CBC (EnvelopedData) or AES-GCM (AuthEnvelopedData) cipher.
// kResourceExhausted above 2 GB of content; kInternal when randomness or a
// cryptographic operation fails.
Result<std::string> EncodeEnveloped(std::span<const std::string_view> content,
                                    std::span<const EnvelopeRecipient> recipients,
                                    const EVP_CIPHER* cipher);

}  // namespace sg::smime::internal
