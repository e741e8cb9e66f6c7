#include "bench/smime/smime_bench_naive.h"

#include <openssl/cms.h>
#include <openssl/pem.h>

#include <stdexcept>

namespace sg::smime::bench {
namespace {

BIO* Mem(const std::string& s) { return BIO_new_mem_buf(s.data(), static_cast<int>(s.size())); }

X509* Cert(const std::string& pem) {
  BIO* b = Mem(pem);
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return x;
}

EVP_PKEY* Key(const std::string& pem) {
  BIO* b = Mem(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return k;
}

std::string Drain(BIO* b) {
  char* data = nullptr;
  long len = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

std::string NaiveSign(const NaivePem& pem, const std::string& entity) {
  X509* cert = Cert(pem.signer_cert);
  EVP_PKEY* key = Key(pem.signer_key);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, Cert(pem.chain));
  BIO* in = Mem(entity);
  CMS_ContentInfo* cms =
      CMS_sign(cert, key, chain, in, CMS_DETACHED);  // text mode: OpenSSL canonicalises
  if (cms == nullptr) throw std::runtime_error("naive sign");
  BIO* out = BIO_new(BIO_s_mem());
  BIO* in2 = Mem(entity);
  SMIME_write_CMS(out, cms, in2, CMS_DETACHED);
  std::string result = Drain(out);
  BIO_free(in2);
  BIO_free(out);
  CMS_ContentInfo_free(cms);
  BIO_free(in);
  sk_X509_pop_free(chain, X509_free);
  EVP_PKEY_free(key);
  X509_free(cert);
  return result;
}

std::string NaiveEncrypt(const NaivePem& pem, const std::string& entity) {
  STACK_OF(X509)* recips = sk_X509_new_null();
  sk_X509_push(recips, Cert(pem.recipient_cert));
  BIO* in = Mem(entity);
  CMS_ContentInfo* cms = CMS_encrypt(recips, in, EVP_aes_256_cbc(), CMS_BINARY);
  if (cms == nullptr) throw std::runtime_error("naive encrypt");
  BIO* out = BIO_new(BIO_s_mem());
  SMIME_write_CMS(out, cms, nullptr, CMS_BINARY);
  std::string result = Drain(out);
  BIO_free(out);
  CMS_ContentInfo_free(cms);
  BIO_free(in);
  sk_X509_pop_free(recips, X509_free);
  return result;
}

std::string NaiveSignEncrypt(const NaivePem& pem, const std::string& entity) {
  return NaiveEncrypt(pem, NaiveSign(pem, entity));
}

bool NaiveDecryptVerify(const NaivePem& pem, const std::string& smime) {
  BIO* in = Mem(smime);
  CMS_ContentInfo* env = SMIME_read_CMS(in, nullptr);
  BIO_free(in);
  if (env == nullptr) return false;
  X509* rcert = Cert(pem.recipient_cert);
  EVP_PKEY* rkey = Key(pem.recipient_key);
  BIO* plain = BIO_new(BIO_s_mem());
  bool ok = CMS_decrypt(env, rkey, rcert, nullptr, plain, CMS_BINARY) == 1;
  CMS_ContentInfo_free(env);
  EVP_PKEY_free(rkey);
  X509_free(rcert);
  if (ok) {
    BIO* content = nullptr;
    CMS_ContentInfo* sig = SMIME_read_CMS(plain, &content);
    X509_STORE* store = X509_STORE_new();
    X509* root = Cert(pem.root);
    X509_STORE_add_cert(store, root);
    X509_free(root);
    BIO* out = BIO_new(BIO_s_mem());
    ok = sig != nullptr && CMS_verify(sig, nullptr, store, content, out, 0) == 1;
    BIO_free(out);
    X509_STORE_free(store);
    BIO_free(content);
    CMS_ContentInfo_free(sig);
  }
  BIO_free(plain);
  return ok;
}

}  // namespace sg::smime::bench
