// ChainMemo: memoised certificate chain validations for SmimeEngine::Verify
// (issue 21).
//
// Purpose: a correspondent signs every message with the same certificate
// and chain, and validating that chain (path building, the signatures of
// every certificate, purpose and validity checks) costs more than the
// message's own signature check. The engine asks this memo first. A result
// depends on nothing but what the key holds:
//   - the signer certificate (SHA-256 of its DER),
//   - the untrusted certificates offered for path building (SHA-256 of each,
//     in order: those carried in the SignedData),
//   - the trust store instance (TrustStore::id(): anchors and configured
//     intermediates; a new trust version is a new TrustStore, a new id),
//   - the purpose (S/MIME signing),
// and on the verification time, which is not in the key: only good results
// are kept, each with the window in which every certificate of its chain is
// valid (latest notBefore .. earliest notAfter), and a lookup outside that
// window is a miss, so a memoised "valid" never outlives a certificate.
// Revocation is not memoised here: the engine asks the RevocationChecker
// (which has its own freshness rules) after every lookup, hit or miss; the
// trust store itself holds no CRLs and checks none.
//
// Threading: every method may be called from any thread; one mutex guards
// the map (held for a lookup or an insert, never during a validation).
// Ownership: entries hold shared references to the chain certificates.
// Errors: none; a failure to compute a key means "do not memoise".
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "workers/smime/smime_handles.h"

namespace sg::smime::internal {

// The memo key for validating |signer| with |untrusted| against the trust
// store |trust_id| for |purpose|; empty when a certificate cannot be
// encoded (the caller then validates without the memo).
std::string ChainMemoKey(X509* signer, std::span<const X509Ptr> untrusted, uint64_t trust_id,
                         int purpose);

class ChainMemo {
 public:
  explicit ChainMemo(size_t capacity = 4096) : capacity_(capacity) {}

  // The memoised validated chain for |key| if every certificate of it is
  // valid at |at|; std::nullopt otherwise (the entry stays for other times).
  std::optional<std::vector<X509Ptr>> Find(const std::string& key, std::time_t at);
  // Remembers a chain that validated; evicts the least recently used entry
  // beyond the capacity. A chain without a usable validity window is not kept.
  void Insert(const std::string& key, std::vector<X509Ptr> chain);

  size_t size() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct Entry {
    std::string key;
    std::vector<X509Ptr> chain;
    std::time_t not_before = 0;  // latest notBefore of the chain
    std::time_t not_after = 0;   // earliest notAfter of the chain
  };
  using List = std::list<Entry>;

  const size_t capacity_;
  mutable std::mutex mu_;
  List lru_;  // most recently used first
  std::unordered_map<std::string, List::iterator> index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace sg::smime::internal
