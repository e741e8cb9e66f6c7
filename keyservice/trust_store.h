// TrustStore: the trust anchors (Mozilla's email roots, optionally the
// system's server bundle, admin-added and approved CAs, our own CA's root),
// each with its origin, and the validation of partner certificates against
// them.
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

// Origins of an anchor (`smimegatectl trust list --source`).
inline constexpr const char* kOriginMozillaEmail = "mozilla-email";
inline constexpr const char* kOriginSystem = "system";      // keyservice.system_roots_file
inline constexpr const char* kOriginOwnCa = "own-ca";       // the root of our own CA
inline constexpr const char* kOriginAdmin = "admin";        // smimegatectl trust add
inline constexpr const char* kOriginApproved = "approved";  // smimegatectl trust approve

struct TrustAnchor {
  std::string der;
  std::string origin;  // one of kOrigin*
};

// The anchors fixed at start-up, and where the Mozilla bundle came from.
struct StartupAnchors {
  std::vector<TrustAnchor> fixed;  // mozilla-email and system roots
  std::string mozilla_origin;      // "" when Mozilla's roots are not used
  int64_t mozilla_extracted_at = 0;
  std::string system_file;         // "" when the system bundle is not used
};

// Reads a PEM bundle (missing file: none, logged) as anchors of `origin`.
std::vector<TrustAnchor> ReadPemAnchors(const std::string& file, const std::string& origin);

class TrustStore {
 public:
  explicit TrustStore(StartupAnchors sources = {});

  // Replaces the changing anchors (admin-added, approved, our root). Bumps version().
  void Replace(std::vector<TrustAnchor> extra);

  std::vector<std::string> AnchorsDer() const;
  std::vector<TrustAnchor> Anchors() const;  // fixed first, then the changing ones
  const StartupAnchors& sources() const { return sources_; }
  uint64_t version() const;
  size_t fixed_count() const { return sources_.fixed.size(); }

  Validation Validate(X509* cert, const std::vector<X509Ptr>& chain,
                      const ValidationOptions& options,
                      std::chrono::system_clock::time_point now) const;

 private:
  struct StoreFree {
    void operator()(X509_STORE* s) const { X509_STORE_free(s); }
  };
  std::shared_ptr<X509_STORE> Current() const;

  const StartupAnchors sources_;
  mutable std::mutex mu_;
  std::vector<TrustAnchor> extra_;
  std::shared_ptr<X509_STORE> store_;
  uint64_t version_ = 0;
};

// Checks that do not need anchors (time, CA flag, EKU, KU, address).
Validation CheckLeaf(X509* cert, const std::string& address,
                     std::chrono::system_clock::time_point now);

}  // namespace sg::keyservice
