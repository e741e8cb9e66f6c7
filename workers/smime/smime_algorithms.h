// The algorithm policy of the inbound mail path (issue 13 point 2, issue 15).
//
// Explicit allow-lists by OID, independent of which OpenSSL providers are
// loaded (the legacy provider may be loaded for PKCS#12 import; it is never
// a reason to accept an algorithm on mail):
//   - content encryption on decrypt: AES-128/192/256 in CBC and GCM;
//     3DES (DES-EDE3-CBC) only with DecryptOptions::allow_3des; RC2, DES,
//     40/64-bit ciphers and anything else never;
//   - key transport: RSA PKCS#1 v1.5 and RSAES-OAEP; key agreement: the
//     ECDH schemes of RFC 5753 with an AES key wrap (3DES wrap only with
//     allow_3des);
//   - signature digests: SHA-256/384/512 accepted; SHA-1 weak (invalid
//     unless VerifyOptions::allow_sha1); MD5 and everything else refused,
//     as Thunderbird does (nsCMS.cpp CommonVerifySignature).
//
// Threading: pure functions.
#pragma once

#include <string>

namespace sg::smime {

enum class DigestClass {
  kAccepted,  // SHA-256, SHA-384, SHA-512
  kSha1,      // weak: accepted only by configuration
  kRefused,   // MD5, MD2, SHA-224, unknown
};
// |nid| is an OpenSSL digest NID (NID_sha256 ...).
DigestClass ClassifySignatureDigest(int nid);

// Whether a content-encryption algorithm may be decrypted.
bool ContentCipherAllowed(int nid, bool allow_3des);
// Whether a key-transport (ktri) algorithm may be used.
bool KeyTransportAllowed(int nid);
// Whether a key-agreement scheme (kari) and its key wrap may be used.
bool KeyAgreementAllowed(int scheme_nid, int wrap_nid, bool allow_3des);

// OpenSSL's long name of |nid| in lower case ("aes-256-cbc", "aes-256-gcm", "sha256"),
// "unknown" when it has none.
std::string AlgorithmName(int nid);

}  // namespace sg::smime
