#include "egress/egress_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace sg::egress {
namespace {

std::string OpenSslError(const char* what) {
  std::string out = what;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  return out;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

const char* TlsRptCertificateFailure(long verify_result) {  // NOLINT(google-runtime-int)
  switch (verify_result) {
    case X509_V_OK:
      return "";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate-expired";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "certificate-host-mismatch";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return "certificate-not-trusted";
    case X509_V_ERR_DANE_NO_MATCH:
      return "tlsa-invalid";
    default:
      return "validation-failure";
  }
}

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::Create(const TlsPolicy& policy,
                                                                   bool audit) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return MakeError(ErrorCode::kInternal, OpenSslError("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  const bool verify = policy.mode == TlsMode::kRequired && policy.verify;
  if (verify || audit) {
    int ok = policy.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                    : SSL_CTX_load_verify_locations(ctx, policy.ca_file.c_str(), nullptr);
    if (ok != 1) {
      SSL_CTX_free(ctx);
      return MakeError(ErrorCode::kInvalidArgument,
                       OpenSslError(("egress tls.ca_file: cannot load " + policy.ca_file).c_str()));
    }
    // Audit: OpenSSL still verifies and records the result, but goes on.
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  } else {
    // Opportunistic TLS (RFC 7435): encrypt without authenticating.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(ctx, verify, audit && !verify));
}

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::CreateDane() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return MakeError(ErrorCode::kInternal, OpenSslError("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_dane_enable(ctx) <= 0) {
    SSL_CTX_free(ctx);
    return MakeError(ErrorCode::kInternal, OpenSslError("SSL_CTX_dane_enable"));
  }
  SSL_CTX_dane_set_flags(ctx, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(ctx, true, false));
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

namespace {

// The TLSA records and reference identifiers of a DANE session.
Status EnableDane(SSL* ssl, const std::string& host, const DaneTarget& dane) {
  const std::string& base = dane.base_domain.empty() ? host : dane.base_domain;
  if (SSL_dane_enable(ssl, base.c_str()) <= 0) {
    return MakeError(ErrorCode::kInternal, OpenSslError("SSL_dane_enable"));
  }
  int usable = 0;
  for (const auto& r : dane.records) {
    const int rc =
        SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type,
                          reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
    if (rc > 0) ++usable;
  }
  if (usable == 0) {
    // Without a record OpenSSL would fall back to PKIX: fail closed instead.
    ERR_clear_error();
    return MakeError(ErrorCode::kInternal,
                     "DANE: OpenSSL took none of the TLSA records of " + host);
  }
  for (const std::string* name : {&host, &dane.next_hop_domain}) {
    if (name->empty() || *name == base) continue;
    if (SSL_add1_host(ssl, name->c_str()) != 1) {
      return MakeError(ErrorCode::kInternal, OpenSslError("SSL_add1_host"));
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::Create(const TlsClientContext& ctx,
                                                       const std::string& host,
                                                       const DaneTarget* dane) {
  std::unique_ptr<TlsSession> s(new TlsSession());
  s->ssl_ = SSL_new(ctx.get());
  if (s->ssl_ == nullptr) return MakeError(ErrorCode::kInternal, OpenSslError("SSL_new"));
  s->rbio_ = BIO_new(BIO_s_mem());
  s->wbio_ = BIO_new(BIO_s_mem());
  SSL_set_bio(s->ssl_, s->rbio_, s->wbio_);
  SSL_set_connect_state(s->ssl_);
  const bool ip = IsIpLiteral(host);
  // Under DANE the SNI name is the TLSA base domain (RFC 7671 10.2).
  const std::string& sni = dane != nullptr && !dane->base_domain.empty() ? dane->base_domain : host;
  if (!ip && !sni.empty()) SSL_set_tlsext_host_name(s->ssl_, sni.c_str());
  if (ctx.verify() || ctx.audit()) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl_), host.c_str());
    } else if (SSL_set1_host(s->ssl_, host.c_str()) != 1) {
      return MakeError(ErrorCode::kInternal, OpenSslError("SSL_set1_host"));
    }
  }
  if (dane != nullptr) SG_RETURN_IF_ERROR(EnableDane(s->ssl_, host, *dane));
  return s;
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void TlsSession::FeedCiphertext(std::string_view data) {
  BIO_write(rbio_, data.data(), static_cast<int>(data.size()));
}

std::string TlsSession::TakeCiphertext() {
  std::string out;
  char buf[16384];
  int n;
  while ((n = BIO_read(wbio_, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

Result<TlsSession::Progress> TlsSession::Handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return Progress::kDone;
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::kWantMore;
  long vr = SSL_get_verify_result(ssl_);
  if (vr != X509_V_OK) {
    return MakeError(ErrorCode::kUnavailable, std::string("TLS certificate verification failed: ") +
                                                  X509_verify_cert_error_string(vr));
  }
  return MakeError(ErrorCode::kUnavailable, OpenSslError("TLS handshake failed"));
}

Status TlsSession::ReadPlaintext(std::string& out) {
  char buf[16384];
  while (true) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return OkStatus();
    if (err == SSL_ERROR_ZERO_RETURN) return MakeError(ErrorCode::kUnavailable, "TLS closed by peer");
    return MakeError(ErrorCode::kUnavailable, OpenSslError("TLS read failed"));
  }
}

Status TlsSession::WritePlaintext(std::string_view data) {
  ERR_clear_error();
  // Memory BIOs grow as needed, so SSL_write takes everything at once.
  int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
  if (n <= 0 || static_cast<size_t>(n) != data.size()) {
    return MakeError(ErrorCode::kUnavailable, OpenSslError("TLS write failed"));
  }
  return OkStatus();
}

long TlsSession::VerifyResult() const {  // NOLINT(google-runtime-int)
  return SSL_get_verify_result(ssl_);
}

std::string TlsSession::Version() const { return SSL_get_version(ssl_); }
std::string TlsSession::Cipher() const { return SSL_get_cipher_name(ssl_); }

}  // namespace sg::egress
