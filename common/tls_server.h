// The TLS server settings every listener of smimegate shares (the SMTP
// ingress, the web portal): TLS 1.2 is the minimum; for TLS 1.2 only ECDHE
// with AEAD ciphers (Mozilla "intermediate" without DHE); TLS 1.3 keeps
// OpenSSL's suites, all AEAD; groups X25519, P-256, P-384; no compression,
// no renegotiation, the server's cipher order.
//
// Threading: LoadServerContext is thread-safe; the context it returns is
// shared by the connections that use it (OpenSSL contexts are thread-safe
// once built).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::tls {

// A certificate chain and its key (PEM files), and optionally CAs that
// client certificates are checked against.
struct ServerFiles {
  std::string cert_file;       // PEM certificate chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // optional: verify client certificates against these CAs
};

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// Builds a server context with the settings above. Errors name `where`
// ("ingress.listeners[1].tls", "portal.tls") and the file at fault.
// `session_id_context` tells OpenSSL's session cache which server this is
// (needed when client certificates are requested).
Result<SslCtxPtr> LoadServerContext(const ServerFiles& files, const std::string& where,
                                    std::string_view session_id_context);

// The same for a context a library created (cpp-httplib's SSLServer hands
// its own to a callback): the settings, certificate chain, key and client
// CAs of LoadServerContext. Errors as there.
Status ConfigureServerContext(SSL_CTX* ctx, const ServerFiles& files, const std::string& where,
                              std::string_view session_id_context);

// Applies only the protocol, cipher and group settings above to an
// existing context.
Status ApplyServerSettings(SSL_CTX* ctx, const std::string& where);

// The OpenSSL error queue as text (and cleared).
std::string OpenSslErrors();

}  // namespace sg::tls
