// Reading definite-length DER (internal to the engine).
//
// Purpose: the few places where the engine needs bytes of a CMS structure
// that OpenSSL's API does not hand out (the certificates of a SignedData,
// the encrypted content key of one RecipientInfo, the content-encryption
// algorithm). Input is DER or BER with indefinite lengths (as NSS writes
// it), low tag numbers; anything else gives nullopt, never a crash. An
// indefinite-length element's |content| is its children without the
// end-of-contents octets.
//
// Threading: pure functions.
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::smime::internal {

struct Tlv {
  unsigned char tag = 0;
  std::string_view whole;  // header + content
  std::string_view content;
};

// One TLV at the start of |in|.
std::optional<Tlv> ReadTlv(std::string_view in);
// The TLVs that make up |content| (nullopt if it does not split exactly).
std::optional<std::vector<Tlv>> ReadChildren(std::string_view content);

struct EnvelopedParts {
  std::string_view content_cipher_oid;  // the OID TLV of the content-encryption algorithm
  std::string_view encrypted_key;       // encryptedKey of RecipientInfo |ri| (|rek| for kari)
  Tlv content_algorithm;                // the whole contentEncryptionAlgorithm
  std::optional<Tlv> mac;               // AuthEnvelopedData: the mac OCTET STRING
};
// From the DER of a ContentInfo with EnvelopedData or AuthEnvelopedData.
std::optional<EnvelopedParts> ReadEnvelopedParts(std::string_view der, int ri, int rek);

// The same structure's RecipientInfos (each whole: [1] for a
// KeyAgreeRecipientInfo, SEQUENCE for a KeyTransRecipientInfo), its
// contentEncryptionAlgorithm AlgorithmIdentifier and the fields after the
// EncryptedContentInfo (EnvelopedData: unprotectedAttrs [1]; AuthEnvelopedData
// (RFC 5083 2.1): authAttrs [1], mac, unauthAttrs [2]), for the prepared
// decoder (smime_decrypt_prepared.h).
struct EnvelopedLayout {
  bool auth_enveloped = false;  // contentType id-ct-authEnvelopedData
  std::vector<Tlv> recipient_infos;
  Tlv content_algorithm;
  std::vector<Tlv> trailing;
};
std::optional<EnvelopedLayout> ReadEnvelopedLayout(std::string_view der);

// GCMParameters (RFC 5084 3.2) { aes-nonce OCTET STRING, aes-ICVlen INTEGER
// DEFAULT 12 }, from the parameters TLV of an id-aes*-GCM algorithm.
// |icv_len| is -1 when the INTEGER is not a small non-negative number.
struct GcmParameters {
  std::string_view nonce;
  int icv_len = 12;
};
std::optional<GcmParameters> ReadGcmParameters(std::string_view params);

// Writing, for the encoders that write CMS by hand (TLVs themselves:
// common/mail/der.h): the OBJECT IDENTIFIER TLV of an OpenSSL NID, and the
// IssuerAndSerialNumber of a certificate (RFC 5652 10.2.4; empty if the
// certificate cannot be encoded); the RSAES-OAEP AlgorithmIdentifier with
// SHA-256 and MGF1-SHA-256 as OpenSSL's CMS code writes it (rsa_cms_encrypt).
std::string DerOid(int nid);
std::string DerOaepSha256Algorithm();
std::string DerIssuerAndSerial(const X509* cert);

}  // namespace sg::smime::internal
