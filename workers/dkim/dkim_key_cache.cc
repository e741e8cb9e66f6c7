#include "workers/dkim/dkim_key_cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <array>

namespace sg::dkim {
namespace {

std::string Digest(const std::string& der) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), md.data());
  return {reinterpret_cast<const char*>(md.data()), md.size()};
}

}  // namespace

PemKey::PemKey(const std::string& pkcs8_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(pkcs8_der.data());
  EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8_der.size()));
  if (key == nullptr) return;
  BIO* bio = BIO_new(BIO_s_secmem());
  if (bio != nullptr &&
      PEM_write_bio_PKCS8PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) pem_.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  EVP_PKEY_free(key);
}

PemKey::~PemKey() { OPENSSL_cleanse(pem_.data(), pem_.size()); }

std::shared_ptr<const PemKey> DkimKeyCache::Get(const keyservice::DkimSigningKey& key) {
  const std::string digest = Digest(key.private_key_der);
  if (capacity_ > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* e = entries_.Find(key.domain);
    if (e != nullptr && e->selector == key.selector && e->der_digest == digest) {
      std::shared_ptr<const PemKey> pem = e->pem;
      entries_.Touch(key.domain);  // most recently used
      return pem;
    }
  }
  // Made outside the lock: other domains' signatures do not wait for it.
  std::shared_ptr<const PemKey> pem = std::make_shared<PemKey>(key.private_key_der);
  conversions_.fetch_add(1);
  if (capacity_ == 0 || !pem->ok()) return pem;
  std::lock_guard<std::mutex> lock(mu_);
  // Replaces the domain's entry: the previous key's PEM goes (wiped) as
  // soon as no Sign uses it.
  entries_.Touch(key.domain) = Entry{key.selector, digest, pem};
  entries_.EvictOver(capacity_, [](const Entry&) { return false; });
  return pem;
}

}  // namespace sg::dkim
