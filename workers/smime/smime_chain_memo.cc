#include "workers/smime/smime_chain_memo.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <utility>

namespace sg::smime::internal {
namespace {

bool AppendFingerprint(X509* cert, std::string& out) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) {
    ERR_clear_error();
    return false;
  }
  out.append(reinterpret_cast<const char*>(md.data()), len);
  return true;
}

// |t| as seconds since the epoch; false for a time OpenSSL cannot convert.
bool ToTime(const ASN1_TIME* t, std::time_t* out) {
  struct tm tm_value {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm_value) != 1) {
    ERR_clear_error();
    return false;
  }
  *out = timegm(&tm_value);
  return true;
}

}  // namespace

std::string ChainMemoKey(X509* signer, std::span<const X509Ptr> untrusted, uint64_t trust_id,
                         int purpose) {
  std::string key;
  key.reserve(32 * (untrusted.size() + 1) + 24);
  key.append(std::to_string(trust_id)).push_back('/');
  key.append(std::to_string(purpose)).push_back('/');
  if (!AppendFingerprint(signer, key)) return {};
  for (const X509Ptr& c : untrusted) {
    if (!AppendFingerprint(c.get(), key)) return {};
  }
  return key;
}

std::optional<std::vector<X509Ptr>> ChainMemo::Find(const std::string& key, std::time_t at) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end() || at < it->second->not_before || at > it->second->not_after) {
    ++misses_;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++hits_;
  return it->second->chain;
}

void ChainMemo::Insert(const std::string& key, std::vector<X509Ptr> chain) {
  if (key.empty() || chain.empty() || capacity_ == 0) return;
  Entry e{key, std::move(chain), 0, 0};
  bool first = true;
  for (const X509Ptr& c : e.chain) {
    std::time_t nb = 0;
    std::time_t na = 0;
    if (!ToTime(X509_get0_notBefore(c.get()), &nb) || !ToTime(X509_get0_notAfter(c.get()), &na)) {
      return;
    }
    e.not_before = first ? nb : std::max(e.not_before, nb);
    e.not_after = first ? na : std::min(e.not_after, na);
    first = false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(std::move(e));
  index_.emplace(key, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

size_t ChainMemo::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

uint64_t ChainMemo::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

uint64_t ChainMemo::misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return misses_;
}

}  // namespace sg::smime::internal
