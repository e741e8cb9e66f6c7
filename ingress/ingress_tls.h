// STARTTLS for the ingress: OpenSSL server contexts per listener (TLS 1.2+;
// for TLS 1.2 ECDHE with AEAD ciphers only; groups X25519, P-256, P-384;
// certificate and key from config or self-signed, ingress_tls_selfsigned.h;
// reloadable) and a per-connection engine that runs TLS over memory BIOs,
// so libuv keeps doing all socket I/O.
//
// Threading: TlsContextHolder is thread-safe (Reload from the main thread,
// Get from any loop). A TlsEngine belongs to one connection on one loop.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ingress/ingress_config.h"
#include "ingress/smtp_session_state.h"

namespace sg::ingress {

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// Builds a server context; errors name `where` ("ingress.listeners[1].tls")
// and the file at fault.
Result<SslCtxPtr> LoadServerContext(const ListenerTlsConfig& tls, const std::string& where);

class TlsContextHolder {
 public:
  TlsContextHolder(ListenerTlsConfig files, std::string where)
      : files_(std::move(files)), where_(std::move(where)) {}
  // Loads (or reloads) the files; on error the previous context stays.
  Status Load();
  // The current context; connections keep the one they started with.
  SslCtxPtr Get() const;

 private:
  ListenerTlsConfig files_;
  std::string where_;
  mutable std::mutex mu_;
  SslCtxPtr ctx_;
};

class TlsEngine {
 public:
  explicit TlsEngine(SslCtxPtr ctx);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  enum class Event { kNone, kHandshakeDone };
  // Ciphertext from the peer in; plaintext for the session appended to
  // `plain`, ciphertext for the peer appended to `to_peer`. An error means
  // the peer spoke something that is not TLS (or failed the handshake).
  Result<Event> OnCiphertext(std::string_view in, std::string* plain, std::string* to_peer);
  // Plaintext for the peer, encrypted into `to_peer`.
  Status Write(std::string_view plain, std::string* to_peer);
  // close_notify into `to_peer`.
  void Shutdown(std::string* to_peer);

  bool handshake_done() const { return handshake_done_; }
  TlsState Info() const;

 private:
  void Drain(std::string* to_peer);
  SslCtxPtr ctx_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> SSL
  BIO* wbio_ = nullptr;  // SSL -> network
  bool handshake_done_ = false;
};

// The OpenSSL error queue as text (and cleared).
std::string OpenSslErrors();

}  // namespace sg::ingress
