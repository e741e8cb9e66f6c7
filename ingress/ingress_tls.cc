#include "ingress/ingress_tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace sg::ingress {

Status TlsContextHolder::Load() {
  SG_ASSIGN_OR_RETURN(SslCtxPtr ctx, LoadServerContext(files_, where_, "smimegate-ingress"));
  std::lock_guard<std::mutex> lock(mu_);
  ctx_ = std::move(ctx);
  return OkStatus();
}

SslCtxPtr TlsContextHolder::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ctx_;
}

TlsEngine::TlsEngine(SslCtxPtr ctx) : ctx_(std::move(ctx)) {
  ssl_ = SSL_new(ctx_.get());
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || rbio_ == nullptr || wbio_ == nullptr) std::abort();  // out of memory
  SSL_set_bio(ssl_, rbio_, wbio_);  // ssl_ owns both BIOs now
  SSL_set_accept_state(ssl_);
}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

void TlsEngine::Drain(std::string* to_peer) {
  char buf[16384];
  int n;
  while ((n = BIO_read(wbio_, buf, sizeof buf)) > 0) to_peer->append(buf, static_cast<size_t>(n));
}

Result<TlsEngine::Event> TlsEngine::OnCiphertext(std::string_view in, std::string* plain,
                                                 std::string* to_peer) {
  ERR_clear_error();
  if (!in.empty() && BIO_write(rbio_, in.data(), static_cast<int>(in.size())) <= 0) {
    return MakeError(ErrorCode::kInternal, "BIO_write failed");
  }
  Event ev = Event::kNone;
  if (!handshake_done_) {
    int rc = SSL_do_handshake(ssl_);
    Drain(to_peer);
    if (rc != 1) {
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return ev;
      return MakeError(ErrorCode::kInvalidArgument, "TLS handshake failed: " + OpenSslErrors());
    }
    handshake_done_ = true;
    ev = Event::kHandshakeDone;
  }
  char buf[16384];
  while (true) {
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain->append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    Drain(to_peer);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      return MakeError(ErrorCode::kCancelled, "peer sent close_notify");
    }
    return MakeError(ErrorCode::kInvalidArgument, "TLS record error: " + OpenSslErrors());
  }
  return ev;
}

Status TlsEngine::Write(std::string_view plain, std::string* to_peer) {
  ERR_clear_error();
  while (!plain.empty()) {
    int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) {
      return MakeError(ErrorCode::kIoError, "TLS write failed: " + OpenSslErrors());
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  Drain(to_peer);
  return OkStatus();
}

void TlsEngine::Shutdown(std::string* to_peer) {
  if (handshake_done_) {
    SSL_shutdown(ssl_);
    Drain(to_peer);
  }
  ERR_clear_error();
}

TlsState TlsEngine::Info() const {
  TlsState t;
  t.active = handshake_done_;
  t.version = SSL_get_version(ssl_);
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  t.cipher = c != nullptr ? SSL_CIPHER_get_name(c) : "";
  X509* peer = SSL_get_peer_certificate(ssl_);
  if (peer != nullptr) {
    char buf[512];
    X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
    t.peer_verified = SSL_get_verify_result(ssl_) == X509_V_OK;
    if (t.peer_verified) t.peer_subject = buf;
    X509_free(peer);
  }
  return t;
}

}  // namespace sg::ingress
