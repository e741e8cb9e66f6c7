// TrustStore: the trust anchors (system roots + admin-added CAs + our own
// built-in root) and the validation of partner certificates against them.
//
// Validation of a certificate found in inbound mail, in this order, each
// failure with its own reason: validity period (at the injected clock's
// time), not a CA, extended key usage allows emailProtection, key usage
// allows encryption (RSA keyEncipherment / EC keyAgreement), the address is
// named (rfc822Name SAN or subject emailAddress), and the chain to a trust
// anchor. A chain that only fails because its CA is unknown is kUntrusted
// (kept pending for the admin), everything else is kRejected.
//
// Threading: thread-safe. Replace() swaps the anchor set under a lock;
// validations in flight keep using the previous set (shared_ptr).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/x509_vfy.h>

#include "common/result.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

enum class Verdict { kOk, kUntrusted, kRejected };

struct Validation {
  Verdict verdict = Verdict::kRejected;
  std::string reason;
};

// What to check besides the chain.
struct ValidationOptions {
  std::string address;  // must be named unless empty
  bool check_chain = true;
};

class TrustStore {
 public:
  // Reads the system bundle once (missing file: no system roots, logged).
  TrustStore(bool system_roots, const std::string& system_roots_file);

  // Replaces the non-system anchors (admin-added + our root). Bumps version().
  void Replace(const std::vector<std::string>& extra_der);

  std::vector<std::string> AnchorsDer() const;
  uint64_t version() const;
  size_t system_root_count() const { return system_der_.size(); }

  Validation Validate(X509* cert, const std::vector<X509Ptr>& chain,
                      const ValidationOptions& options,
                      std::chrono::system_clock::time_point now) const;

 private:
  struct StoreFree {
    void operator()(X509_STORE* s) const { X509_STORE_free(s); }
  };
  std::shared_ptr<X509_STORE> Current() const;

  std::vector<std::string> system_der_;
  mutable std::mutex mu_;
  std::vector<std::string> extra_der_;
  std::shared_ptr<X509_STORE> store_;
  uint64_t version_ = 0;
};

// Checks that do not need anchors (time, CA flag, EKU, KU, address).
Validation CheckLeaf(X509* cert, const std::string& address,
                     std::chrono::system_clock::time_point now);

}  // namespace sg::keyservice
