// DkimKeyCache: the PEM text of each domain's DKIM signing key, made once
// (issue 22, docs/dkim.md "Cost"). libopendkim takes the private key only
// as PEM text and parses it in every signature; the keyservice hands the
// worker PKCS#8 DER. Turning DER into PEM (a decode and an encode, each
// slow with OpenSSL 3's decoder/encoder lookups) for every message cost
// more than the signature itself; this keeps the PEM per From domain.
//
// An entry belongs to one key: it is used only while the domain's key has
// the same selector and the same DER (compared by SHA-256), so a rotation
// (a new active selector) or a key replaced under the same selector drops
// the old PEM at once. At most `capacity` domains are kept (least recently
// used dropped first); capacity 0 keeps nothing (a PEM per call).
//
// Secrets: the PEM lives only in memory, in a buffer wiped when the last
// user releases it (a Sign in progress keeps it alive); it is never logged.
// The cache keeps no DER copy, only its digest.
//
// Threading: thread-safe; the worker threads share one cache (through the
// shared DkimSigner).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "common/lru_table.h"
#include "keyservice/key_service.h"

namespace sg::dkim {

// A PEM copy of a PKCS#8 key as a C string (what libopendkim takes), wiped
// on destruction. Empty (ok() false) when the DER does not load.
class PemKey {
 public:
  explicit PemKey(const std::string& pkcs8_der);
  ~PemKey();
  PemKey(const PemKey&) = delete;
  PemKey& operator=(const PemKey&) = delete;
  bool ok() const { return !pem_.empty(); }
  const char* c_str() const { return pem_.c_str(); }

 private:
  std::string pem_;
};

class DkimKeyCache {
 public:
  explicit DkimKeyCache(size_t capacity) : capacity_(capacity) {}

  // The PEM of `key`: the cached one of key.domain when selector and DER
  // match, else a new one (which replaces the domain's entry). Never null;
  // check ok() (a DER that does not load is not cached).
  std::shared_ptr<const PemKey> Get(const keyservice::DkimSigningKey& key);

  // How many PEMs were made (cache misses), for tests and the benchmark.
  size_t conversions() const { return conversions_.load(); }

 private:
  struct Entry {
    std::string selector;
    std::string der_digest;  // SHA-256 of the DER
    std::shared_ptr<const PemKey> pem;
  };

  const size_t capacity_;
  std::mutex mu_;
  LruTable<Entry> entries_;  // by domain; guarded by mu_
  std::atomic<size_t> conversions_{0};
};

}  // namespace sg::dkim
