#include "ingress/ingress_tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace sg::ingress {

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

namespace {

// Accept any client certificate during the handshake: a certificate that
// does not verify simply does not authorise relaying (checked afterwards),
// it does not break the connection (RFC 3207 clients rarely expect that).
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// TLS 1.2: forward secrecy and AEAD only (Mozilla's "intermediate" without
// DHE); TLS 1.3 keeps OpenSSL's suites, all of them AEAD.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kGroups[] = "X25519:P-256:P-384";

}  // namespace

Result<SslCtxPtr> LoadServerContext(const ListenerTlsConfig& tls, const std::string& where) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return MakeError(ErrorCode::kInternal, where + ": " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx.get(), kGroups) != 1) {
    return MakeError(ErrorCode::kInternal, where + ": cipher or group list: " + OpenSslErrors());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ".cert: cannot load certificate " + tls.cert_file +
                         ": " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ".key: cannot load private key " + tls.key_file +
                         ": " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "config " + where +
                                                      ".key: private key does not match "
                                                      "the certificate " + tls.cert_file);
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.client_ca_file.c_str(), nullptr) != 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "config " + where + ".client_ca: cannot load " + tls.client_ca_file +
                           ": " + OpenSslErrors());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptAnyCertificate);
    static const unsigned char kSidCtx[] = "smimegate-ingress";
    SSL_CTX_set_session_id_context(ctx.get(), kSidCtx, sizeof kSidCtx - 1);
  }
  return ctx;
}

Status TlsContextHolder::Load() {
  SG_ASSIGN_OR_RETURN(SslCtxPtr ctx, LoadServerContext(files_, where_));
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
