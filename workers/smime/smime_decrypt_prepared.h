// The prepared decoder of EnvelopedData and AuthEnvelopedData (issue 21), the decryption
// counterpart of PreparedRecipient (smime_recipient.h). Internal to the engine.
//
// Why: around its one private-key operation, CMS_decrypt spends a large share
// of a P-256 message on set-up and on a full public-key check of the
// sender's ephemeral key (a scalar multiplication by the group order). On
// the NIST prime curves (cofactor 1) a point that decodes onto the curve and
// is not the point at infinity is in the prime-order group, so the quick
// check suffices (NIST SP 800-56A 5.6.2.3.4 "partial validation"; the
// full check only adds the order multiplication, which proves nothing more
// when the cofactor is 1).
//
// What it serves, read straight from the DER the engine already holds
// (smime_der.h), with the key the engine already matched (no trial
// decryption):
//   - KeyAgreeRecipientInfo with originatorKey on the recipient's curve
//     (P-256, P-384, P-521), dhSinglePass-stdDH-sha{1,224,256,384,512}kdf
//     (ANSI X9.63 KDF over ECC-CMS-SharedInfo, RFC 5753, with the ukm when
//     present), AES-128/192/256 key wrap (RFC 3394);
//   - KeyTransRecipientInfo with RSA PKCS#1 v1.5, RSAES-OAEP with SHA-1
//     defaults, or RSAES-OAEP SHA-256/MGF1-SHA-256 (what OpenSSL writes);
//   - EnvelopedData content AES-128/192/256-CBC, decrypted in one pass into
//     a buffer of the ciphertext's size;
//   - AuthEnvelopedData (RFC 5083) content AES-128/192/256-GCM (RFC 5084)
//     with a 12-byte nonce and aes-ICVlen 12..16 (default 12), the mac of
//     exactly that length, and authAttrs, when present, authenticated as
//     RFC 5083 2.2 says (their DER under the SET OF tag is the AAD). The
//     plaintext is returned only after the tag verified (kDone); a failed
//     tag is kFailed and the unauthenticated bytes are wiped.
// Anything else (3DES, cofactor schemes, other curves or key identifiers,
// parameters written another way, GCM in EnvelopedData or CBC in
// AuthEnvelopedData, other nonce lengths, a mac of another length than
// aes-ICVlen, unauthAttrs, BER-encoded authAttrs) is kNotHandled and the caller decrypts with
// CMS_decrypt as before.
//
// Failures: the caller falls back to CMS_decrypt on every status but kDone,
// so an error's class and text are always CMS_decrypt's own (for GCM too:
// a bad tag, altered authAttrs, nonce or ciphertext). As in OpenSSL's
// CMS code (the MMA / Bleichenbacher countermeasure of cms_env.c), a key
// transport whose RSA decryption fails (bad PKCS#1 or OAEP padding, wrong
// length) continues with a random content key, selected in constant time,
// so that a bad padding and a good one under the wrong key take the same
// path (content decryption, then the failure).
//
// Threading: pure function; ciphers and cipher contexts are per thread.
// The key is only read.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace sg::smime::internal {

enum class PreparedStatus {
  kDone,        // |content| is the plaintext
  kNotHandled,  // a structure or algorithm this decoder does not serve
  kBadPeerKey,  // key agreement: the originator key is not a point of the recipient's curve
  kFailed,      // the key does not open it (wrong key, altered or truncated data)
};

struct PreparedDecrypt {
  PreparedStatus status = PreparedStatus::kNotHandled;
  std::string content;
};

// |der|: the ContentInfo (EnvelopedData) as received; |ri| / |rek|: the
// RecipientInfo (and for key agreement the RecipientEncryptedKey) that names
// the certificate of |key|; |ciphertext|: the encryptedContent as OpenSSL
// parsed it (BER chunks joined; without the GCM tag, which is the mac).
// Leaves the thread's OpenSSL error queue as
// it found it.
PreparedDecrypt DecryptPrepared(std::string_view der, int ri, int rek, EVP_PKEY* key,
                                std::string_view ciphertext);

}  // namespace sg::smime::internal
