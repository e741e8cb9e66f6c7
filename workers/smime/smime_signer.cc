#include "workers/smime/smime_signer.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <vector>

#include "common/mail/der.h"

namespace sg::smime {
namespace {

// DER building blocks (common/mail/der.h). Lengths are definite (DER, RFC
// 5652 requires DER for signed attributes; the rest is DER too, which every
// parser accepts).
std::string Tlv(unsigned char tag, std::string_view content) { return mail::DerTlv(tag, content); }

constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kSet = 0x31;
constexpr unsigned char kContext0 = 0xA0;  // [0] constructed

std::string Oid(int nid) {
  const ASN1_OBJECT* obj = OBJ_nid2obj(nid);
  return Tlv(0x06,
             std::string_view(reinterpret_cast<const char*>(OBJ_get0_data(obj)), OBJ_length(obj)));
}

template <typename T, typename F>
std::string I2d(const T* value, F i2d) {
  int len = i2d(value, nullptr);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d(value, &p);
  return out;
}

std::string AlgorithmId(int nid, bool null_params) {
  return Tlv(kSequence, Oid(nid) + (null_params ? std::string("\x05\x00", 2) : std::string()));
}

// Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }
std::string Attribute(int nid, std::string_view value) {
  return Tlv(kSequence, Oid(nid) + Tlv(kSet, value));
}

// DER SET OF: elements sorted by their encodings (X.690 11.6).
std::string SetOf(std::vector<std::string> elements) {
  std::sort(elements.begin(), elements.end());
  std::string content;
  for (const std::string& e : elements) content += e;
  return content;
}

std::string SigningTime(std::time_t t) {
  struct tm tm_value {};
  gmtime_r(&t, &tm_value);
  int year = tm_value.tm_year + 1900;
  char buf[32];
  // RFC 5652 11.3: UTCTime for 1950..2049, GeneralizedTime otherwise.
  if (year >= 1950 && year < 2050) {
    std::snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm_value.tm_mon + 1,
                  tm_value.tm_mday, tm_value.tm_hour, tm_value.tm_min, tm_value.tm_sec);
    return Tlv(0x17, buf);
  }
  std::snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ", year, tm_value.tm_mon + 1,
                tm_value.tm_mday, tm_value.tm_hour, tm_value.tm_min, tm_value.tm_sec);
  return Tlv(0x18, buf);
}

struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

}  // namespace

struct PreparedSigner::State {
  ~State() { EVP_MD_free(md); }
  DigestAlg digest = DigestAlg::kSha256;
  EVP_MD* md = nullptr;  // fetched once
  PkeyPtr key;
  X509Ptr cert;
  CtxPtr sign_template;           // EVP_PKEY_sign_init'ed, padding and digest set
  std::string digest_alg;         // AlgorithmIdentifier
  std::string sig_alg;            // AlgorithmIdentifier
  std::string sid;                // IssuerAndSerialNumber
  std::string certificates;       // [0] IMPLICIT SET OF Certificate
  std::string fixed_attrs[2];     // contentType and SMIMECapabilities attributes
  std::string content_info_head;  // OID of signedData (ContentInfo prefix)
  std::string encap;              // EncapsulatedContentInfo without eContent
};

Result<PreparedSigner> PreparedSigner::Create(const SignerIdentity& identity,
                                              const PreparedSignerOptions& options) {
  if (!identity.key || !identity.cert) {
    return MakeError(ErrorCode::kInvalidArgument, "signer: identity lacks key or certificate");
  }
  if (X509_check_private_key(identity.cert.get(), identity.key.get()) != 1) {
    ERR_clear_error();
    return MakeError(
        ErrorCode::kInvalidArgument,
        "signer: private key does not match certificate " + CertSubjectLine(identity.cert.get()));
  }
  auto st = std::make_shared<State>();
  st->digest = options.digest;
  const char* md_name = options.digest == DigestAlg::kSha384   ? "SHA2-384"
                        : options.digest == DigestAlg::kSha512 ? "SHA2-512"
                                                               : "SHA2-256";
  st->md = EVP_MD_fetch(nullptr, md_name, nullptr);
  if (st->md == nullptr) return MakeError(ErrorCode::kUnavailable, "signer: digest unavailable");
  st->key = identity.key;
  st->cert = identity.cert;
  int md_nid = EVP_MD_get_type(st->md);
  bool rsa = EVP_PKEY_is_a(identity.key.get(), "RSA");
  bool ec = EVP_PKEY_is_a(identity.key.get(), "EC");
  if (!rsa && !ec) {
    return MakeError(ErrorCode::kUnsupported, "signer: only RSA and EC keys can sign S/MIME here");
  }
  st->sign_template.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, identity.key.get(), nullptr));
  if (!st->sign_template || EVP_PKEY_sign_init(st->sign_template.get()) <= 0 ||
      (rsa && EVP_PKEY_CTX_set_rsa_padding(st->sign_template.get(), RSA_PKCS1_PADDING) <= 0) ||
      EVP_PKEY_CTX_set_signature_md(st->sign_template.get(), st->md) <= 0) {
    return MakeError(ErrorCode::kInternal,
                     "signer: cannot prepare signing context (" + TakeOpenSslError() + ")");
  }
  // Same identifiers OpenSSL's CMS code writes: SHA-2 without parameters,
  // rsaEncryption with NULL (RFC 3370 3.2), ecdsa-with-SHAxxx without.
  st->digest_alg = AlgorithmId(md_nid, false);
  if (rsa) {
    st->sig_alg = AlgorithmId(NID_rsaEncryption, true);
  } else {
    int sig_nid = NID_undef;
    OBJ_find_sigid_by_algs(&sig_nid, md_nid, NID_X9_62_id_ecPublicKey);
    st->sig_alg = AlgorithmId(sig_nid, false);
  }
  st->sid = Tlv(kSequence, I2d(X509_get_issuer_name(identity.cert.get()), i2d_X509_NAME) +
                               I2d(X509_get0_serialNumber(identity.cert.get()), i2d_ASN1_INTEGER));
  std::vector<std::string> certs{I2d(identity.cert.get(), i2d_X509)};
  if (options.include_chain) {
    for (const X509Ptr& c : identity.chain) {
      if (c) certs.push_back(I2d(c.get(), i2d_X509));
    }
  }
  st->certificates = Tlv(kContext0, SetOf(std::move(certs)));

  STACK_OF(X509_ALGOR)* caps = sk_X509_ALGOR_new_null();
  if (options.announce_aes_gcm) {
    CMS_add_simple_smimecap(&caps, NID_aes_256_gcm, -1);
    CMS_add_simple_smimecap(&caps, NID_aes_128_gcm, -1);
  }
  CMS_add_simple_smimecap(&caps, NID_aes_256_cbc, -1);
  CMS_add_simple_smimecap(&caps, NID_aes_192_cbc, -1);
  CMS_add_simple_smimecap(&caps, NID_aes_128_cbc, -1);
  std::string caps_der = I2d(caps, i2d_X509_ALGORS);
  sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
  if (caps_der.empty())
    return MakeError(ErrorCode::kInternal, "signer: cannot encode SMIMECapabilities");
  st->fixed_attrs[0] = Attribute(NID_pkcs9_contentType, Oid(NID_pkcs7_data));
  st->fixed_attrs[1] = Attribute(NID_SMIMECapabilities, caps_der);
  st->content_info_head = Oid(NID_pkcs7_signed);
  st->encap = Tlv(kSequence, Oid(NID_pkcs7_data));
  PreparedSigner signer;
  signer.state_ = std::move(st);
  return signer;
}

DigestAlg PreparedSigner::digest() const { return state_->digest; }
const X509Ptr& PreparedSigner::cert() const { return state_->cert; }

Result<std::string> PreparedSigner::SignDetached(std::string_view content,
                                                 std::time_t signing_time) const {
  const State& st = *state_;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(content.data(), content.size(), md, &md_len, st.md, nullptr) != 1) {
    return MakeError(ErrorCode::kInternal, "sign: digest failed (" + TakeOpenSslError() + ")");
  }
  std::string message_digest = Tlv(0x04, std::string_view(reinterpret_cast<char*>(md), md_len));
  std::string attrs = SetOf({st.fixed_attrs[0], st.fixed_attrs[1],
                             Attribute(NID_pkcs9_signingTime, SigningTime(signing_time)),
                             Attribute(NID_pkcs9_messageDigest, message_digest)});
  // The signature covers the attributes with an explicit SET OF tag (RFC 5652 5.4).
  std::string to_sign = Tlv(kSet, attrs);
  unsigned char attrs_md[EVP_MAX_MD_SIZE];
  unsigned int attrs_md_len = 0;
  if (EVP_Digest(to_sign.data(), to_sign.size(), attrs_md, &attrs_md_len, st.md, nullptr) != 1) {
    return MakeError(ErrorCode::kInternal, "sign: digest failed (" + TakeOpenSslError() + ")");
  }
  CtxPtr ctx(EVP_PKEY_CTX_dup(st.sign_template.get()));
  size_t sig_len = 0;
  if (!ctx || EVP_PKEY_sign(ctx.get(), nullptr, &sig_len, attrs_md, attrs_md_len) <= 0) {
    return MakeError(ErrorCode::kInternal,
                     "sign: cannot size signature (" + TakeOpenSslError() + ")");
  }
  std::string sig(sig_len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, attrs_md,
                    attrs_md_len) <= 0) {
    return MakeError(ErrorCode::kInternal, "sign: signature failed (" + TakeOpenSslError() + ")");
  }
  sig.resize(sig_len);

  std::string signer_info = Tlv(kSequence, std::string("\x02\x01\x01", 3) + st.sid + st.digest_alg +
                                               Tlv(kContext0, attrs) + st.sig_alg + Tlv(0x04, sig));
  std::string signed_data =
      Tlv(kSequence, std::string("\x02\x01\x01", 3) + Tlv(kSet, st.digest_alg) + st.encap +
                         st.certificates + Tlv(kSet, signer_info));
  return Tlv(kSequence, st.content_info_head + Tlv(kContext0, signed_data));
}

}  // namespace sg::smime
