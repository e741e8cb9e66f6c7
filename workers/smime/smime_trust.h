// TrustStore: the anchors and known intermediates signatures are checked against.
//
// Purpose: built once from configuration (system roots, configured anchors,
// intermediates harvested or configured) and shared by every verification.
// Threading: immutable after Create(); Verify() of any number of threads may
// use one TrustStore at once (each builds its own X509_STORE_CTX). Copies
// share the underlying OpenSSL objects and the id.
//
// Identity: every Create() gives a new id() (process-wide, never reused);
// the engine's chain memo (smime_chain_memo.h) keys validations on it, so
// a new trust version (a new TrustStore) never sees an old result.
#pragma once

#include <openssl/x509_vfy.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.h"
#include "workers/smime/smime_handles.h"

namespace sg::smime {

struct TrustStoreOptions {
  bool use_system_roots = false;       // the distribution's CA bundle
  std::vector<X509Ptr> anchors;        // trusted roots (or any self-chosen anchor)
  std::vector<X509Ptr> intermediates;  // untrusted helpers for path building
};

class TrustStore {
 public:
  static Result<TrustStore> Create(const TrustStoreOptions& options);

  X509_STORE* store() const { return store_.get(); }
  const std::vector<X509Ptr>& intermediates() const { return intermediates_; }
  uint64_t id() const { return id_; }

 private:
  std::shared_ptr<X509_STORE> store_;
  std::vector<X509Ptr> intermediates_;
  uint64_t id_ = 0;
};

}  // namespace sg::smime
