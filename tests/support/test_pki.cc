#include "tests/support/test_pki.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace sg::testing {
namespace {

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("test PKI: bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void RandomSerial(X509* cert) {
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) throw std::runtime_error("test PKI: RAND_bytes");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

}  // namespace

TestPkey MakeRsaKey(int bits) {
  TestPkey key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!key) throw std::runtime_error("test PKI: RSA key generation");
  return key;
}

TestPkey MakeEcKey() {
  TestPkey key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("test PKI: EC key generation");
  return key;
}

TestX509 IssueCert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                   EVP_PKEY* issuer_key) {
  TestX509 cert(X509_new());
  X509_set_version(cert.get(), 2);
  RandomSerial(cert.get());
  ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                std::chrono::system_clock::to_time_t(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(spec.not_after));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : spec.subject) {
    if (X509_NAME_add_entry_by_txt(subject, field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      throw std::runtime_error("test PKI: bad subject entry " + field);
    }
  }
  X509_set_pubkey(cert.get(), subject_key);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  for (const auto& [nid, value] : spec.extensions) AddExt(cert.get(), signer, nid, value);
  EVP_PKEY* signing_key = issuer != nullptr ? issuer_key : subject_key;
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) {
    throw std::runtime_error("test PKI: X509_sign");
  }
  return cert;
}

std::string CertPem(const X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  return BioString(bio);
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio);
}

std::string CertDer(const X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  if (len < 0) throw std::runtime_error("test PKI: i2d_X509");
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string KeyDer(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  int len = i2d_PrivateKey(key, &buf);
  if (len < 0) throw std::runtime_error("test PKI: i2d_PrivateKey");
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

}  // namespace sg::testing
