#include "workers/smime/smime_algorithms.h"

#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include "common/ascii.h"

namespace sg::smime {

DigestClass ClassifySignatureDigest(int nid) {
  switch (nid) {
    case NID_sha256:
    case NID_sha384:
    case NID_sha512:
      return DigestClass::kAccepted;
    case NID_sha1:
      return DigestClass::kSha1;
    default:
      return DigestClass::kRefused;
  }
}

bool ContentCipherAllowed(int nid, bool allow_3des) {
  switch (nid) {
    case NID_aes_128_cbc:
    case NID_aes_192_cbc:
    case NID_aes_256_cbc:
    case NID_aes_128_gcm:
    case NID_aes_192_gcm:
    case NID_aes_256_gcm:
      return true;
    case NID_des_ede3_cbc:
      return allow_3des;
    default:
      return false;  // RC2 (any key size), DES, 2-key 3DES, CAST, IDEA, unknown OIDs
  }
}

bool KeyTransportAllowed(int nid) { return nid == NID_rsaEncryption || nid == NID_rsaesOaep; }

bool KeyAgreementAllowed(int scheme_nid, int wrap_nid, bool allow_3des) {
  switch (scheme_nid) {
    case NID_dhSinglePass_stdDH_sha1kdf_scheme:
    case NID_dhSinglePass_stdDH_sha224kdf_scheme:
    case NID_dhSinglePass_stdDH_sha256kdf_scheme:
    case NID_dhSinglePass_stdDH_sha384kdf_scheme:
    case NID_dhSinglePass_stdDH_sha512kdf_scheme:
    case NID_dhSinglePass_cofactorDH_sha1kdf_scheme:
    case NID_dhSinglePass_cofactorDH_sha224kdf_scheme:
    case NID_dhSinglePass_cofactorDH_sha256kdf_scheme:
    case NID_dhSinglePass_cofactorDH_sha384kdf_scheme:
    case NID_dhSinglePass_cofactorDH_sha512kdf_scheme:
      break;
    default:
      return false;
  }
  switch (wrap_nid) {
    case NID_id_aes128_wrap:
    case NID_id_aes192_wrap:
    case NID_id_aes256_wrap:
      return true;
    case NID_id_smime_alg_CMS3DESwrap:
      return allow_3des;
    default:
      return false;
  }
}

std::string AlgorithmName(int nid) {
  // The long names are the familiar ones ("aes-256-gcm", "sha256"); the
  // short ones are not ("id-aes256-GCM").
  const char* ln = OBJ_nid2ln(nid);
  if (nid == NID_undef || ln == nullptr) return "unknown";
  return AsciiLower(ln);
}

}  // namespace sg::smime
