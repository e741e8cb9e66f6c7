#include "common/tls_server.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace sg::tls {

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

Status ApplyServerSettings(SSL_CTX* ctx, const std::string& where) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return MakeError(ErrorCode::kInternal, where + ": cipher or group list: " + OpenSslErrors());
  }
  return OkStatus();
}

Result<SslCtxPtr> LoadServerContext(const ServerFiles& tls, const std::string& where,
                                    std::string_view session_id_context) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return MakeError(ErrorCode::kInternal, where + ": " + OpenSslErrors());
  SG_RETURN_IF_ERROR(ConfigureServerContext(ctx.get(), tls, where, session_id_context));
  return ctx;
}

Status ConfigureServerContext(SSL_CTX* ctx, const ServerFiles& tls, const std::string& where,
                              std::string_view session_id_context) {
  SG_RETURN_IF_ERROR(ApplyServerSettings(ctx, where));
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ".cert: cannot load certificate " + tls.cert_file +
                         ": " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + where + ".key: cannot load private key " + tls.key_file +
                         ": " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "config " + where +
                                                      ".key: private key does not match "
                                                      "the certificate " + tls.cert_file);
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "config " + where + ".client_ca: cannot load " + tls.client_ca_file +
                           ": " + OpenSslErrors());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
    SSL_CTX_set_session_id_context(ctx,
                                   reinterpret_cast<const unsigned char*>(session_id_context.data()),
                                   static_cast<unsigned int>(session_id_context.size()));
  }
  return OkStatus();
}

}  // namespace sg::tls
