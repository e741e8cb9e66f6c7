#include "workers/smime/smime_trust.h"

#include <openssl/err.h>

#include <atomic>

namespace sg::smime {

Result<TrustStore> TrustStore::Create(const TrustStoreOptions& options) {
  static std::atomic<uint64_t> next_id{1};
  TrustStore ts;
  ts.id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  ts.store_ = std::shared_ptr<X509_STORE>(X509_STORE_new(), X509_STORE_free);
  if (!ts.store_) return MakeError(ErrorCode::kInternal, "trust store: out of memory");
  if (options.use_system_roots && X509_STORE_set_default_paths(ts.store_.get()) != 1) {
    return MakeError(ErrorCode::kIoError,
                     "trust store: cannot load the system CA bundle (" + TakeOpenSslError() + ")");
  }
  for (const X509Ptr& anchor : options.anchors) {
    if (!anchor) return MakeError(ErrorCode::kInvalidArgument, "trust store: null anchor");
    if (X509_STORE_add_cert(ts.store_.get(), anchor.get()) != 1) {
      ERR_clear_error();  // duplicate anchors are harmless
    }
  }
  ts.intermediates_ = options.intermediates;
  return ts;
}

}  // namespace sg::smime
