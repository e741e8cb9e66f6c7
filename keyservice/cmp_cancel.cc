#include "keyservice/cmp_cancel.h"

#include <openssl/bio.h>
#include <sys/socket.h>

namespace sg::keyservice {

void CmpCanceller::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  for (Exchange* e : live_) {
    int fd = -1;
    if (e->bio != nullptr && BIO_get_fd(e->bio, &fd) >= 0 && fd >= 0) {
      // The BIO reference keeps the descriptor open (and ours) until the
      // exchange drops it; shutdown wakes the blocked read with EOF.
      ::shutdown(fd, SHUT_RDWR);
    }
  }
}

bool CmpCanceller::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

BIO* CmpCanceller::OnConnection(BIO* bio, void* arg, int connect, int detail) {
  (void)detail;
  auto* a = static_cast<CmpExchangeGuard::Arg*>(arg);
  std::lock_guard<std::mutex> lock(a->canceller->mu_);
  Exchange* e = a->exchange;
  if (connect == 0) {
    if (e->bio == bio) {
      e->bio = nullptr;
      BIO_free(bio);  // ours; OpenSSL frees its own next
    }
    return bio;
  }
  if (a->canceller->cancelled_) return nullptr;  // OpenSSL closes it and fails the transfer
  if (e->bio != nullptr) BIO_free(e->bio);  // a previous message's connection
  e->bio = BIO_up_ref(bio) == 1 ? bio : nullptr;
  return bio;
}

CmpExchangeGuard::CmpExchangeGuard(CmpCanceller& canceller)
    : canceller_(canceller), arg_{&canceller, &exchange_} {
  std::lock_guard<std::mutex> lock(canceller_.mu_);
  canceller_.live_.insert(&exchange_);
}

CmpExchangeGuard::~CmpExchangeGuard() {
  std::lock_guard<std::mutex> lock(canceller_.mu_);
  canceller_.live_.erase(&exchange_);
  if (exchange_.bio != nullptr) BIO_free(exchange_.bio);
}

Status CmpExchangeGuard::Install(OSSL_CMP_CTX* ctx) {
  if (canceller_.cancelled()) {
    return MakeError(ErrorCode::kUnavailable, "CMP: the keyservice is stopping");
  }
  if (OSSL_CMP_CTX_set_http_cb(ctx, &CmpCanceller::OnConnection) != 1 ||
      OSSL_CMP_CTX_set_http_cb_arg(ctx, &arg_) != 1) {
    return MakeError(ErrorCode::kInternal, "CMP: cannot install the connection callback");
  }
  return OkStatus();
}

}  // namespace sg::keyservice
