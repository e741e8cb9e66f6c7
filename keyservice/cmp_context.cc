#include "keyservice/cmp_context.h"

#include <openssl/crypto.h>
#include <openssl/http.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sg::keyservice {
namespace {

Result<std::string> ReadSmallFile(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, "keyservice.ca.cmp." + key + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<X509Ptr> LoadCert(const std::string& path, const std::string& key) {
  SG_ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, key));
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!cert) {
    return MakeError(ErrorCode::kInvalidArgument, "keyservice.ca.cmp." + key + ": no PEM certificate in " +
                                                      path + " (" + OpenSslError() + ")");
  }
  return cert;
}

Result<PkeyPtr> LoadKey(const std::string& path, const std::string& key) {
  SG_ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, key));
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!pkey) {
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument,
                     "keyservice.ca.cmp." + key + ": no unencrypted PEM private key in " + path);
  }
  return pkey;
}

Result<std::string> LoadSecret(const CmpConfig& config) {
  std::string secret;
  if (!config.secret_file.empty()) {
    SG_ASSIGN_OR_RETURN(secret, ReadSmallFile(config.secret_file, "secret_file"));
    auto eol = secret.find_first_of("\r\n");
    if (eol != std::string::npos) secret.resize(eol);
  } else if (const char* v = std::getenv(config.secret_env.c_str())) {
    secret = v;
  }
  if (secret.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "keyservice.ca.cmp: protection mac needs the shared secret in secret_file or $" +
                         config.secret_env);
  }
  return secret;
}

int DropCmpLog(const char*, const char*, int, OSSL_CMP_severity, const char*) { return 1; }

Status SetServer(OSSL_CMP_CTX* ctx, const CmpConfig& config) {
  char* host = nullptr;
  char* port = nullptr;
  char* path = nullptr;
  int ssl = 0;
  int port_num = 0;
  if (OSSL_HTTP_parse_url(config.url.c_str(), &ssl, nullptr, &host, &port, &port_num, &path,
                          nullptr, nullptr) != 1 ||
      ssl != 0) {
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument, "keyservice.ca.cmp.url: not an http:// URL: " + config.url);
  }
  bool ok = OSSL_CMP_CTX_set1_server(ctx, host) == 1 && OSSL_CMP_CTX_set_serverPort(ctx, port_num) == 1 &&
            OSSL_CMP_CTX_set1_serverPath(ctx, path) == 1;
  OPENSSL_free(host);
  OPENSSL_free(port);
  OPENSSL_free(path);
  if (!ok) return MakeError(ErrorCode::kInternal, "CMP server address: " + OpenSslError());
  return OkStatus();
}

Status SetProtection(OSSL_CMP_CTX* ctx, const CmpConfig& config, const CmpCredentials& cred,
                     CmpProtection protection) {
  if (protection == CmpProtection::kOldKey) return OkStatus();  // the caller sets cert and key
  if (config.protection == "mac") {
    const auto* ref = reinterpret_cast<const unsigned char*>(config.reference.data());
    const auto* sec = reinterpret_cast<const unsigned char*>(cred.secret.data());
    if (OSSL_CMP_CTX_set1_referenceValue(ctx, ref, static_cast<int>(config.reference.size())) != 1 ||
        OSSL_CMP_CTX_set1_secretValue(ctx, sec, static_cast<int>(cred.secret.size())) != 1) {
      return MakeError(ErrorCode::kInternal, "CMP MAC protection: " + OpenSslError());
    }
    return OkStatus();
  }
  if (OSSL_CMP_CTX_set1_cert(ctx, cred.client_cert.get()) != 1 ||
      OSSL_CMP_CTX_set1_pkey(ctx, cred.client_key.get()) != 1) {
    return MakeError(ErrorCode::kInternal, "CMP signature protection: " + OpenSslError());
  }
  return OkStatus();
}

// Signature-protected responses: the pinned server certificate when
// configured, otherwise a signer chaining to the configured root.
Status SetResponseTrust(OSSL_CMP_CTX* ctx, const CmpCredentials& cred) {
  // The issuing CA also completes the chain of our own signed requests.
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  bool ok = untrusted != nullptr && sk_X509_push(untrusted, cred.issuing.get()) > 0 &&
            OSSL_CMP_CTX_set1_untrusted(ctx, untrusted) == 1;
  sk_X509_free(untrusted);
  if (!ok) return MakeError(ErrorCode::kInternal, "CMP untrusted certificates: " + OpenSslError());
  if (cred.server_cert) {
    if (OSSL_CMP_CTX_set1_srvCert(ctx, cred.server_cert.get()) != 1) {
      return MakeError(ErrorCode::kInternal, "CMP server certificate: " + OpenSslError());
    }
    return OkStatus();
  }
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr || X509_STORE_add_cert(store, cred.root.get()) != 1 ||
      OSSL_CMP_CTX_set0_trustedStore(ctx, store) != 1) {
    X509_STORE_free(store);
    return MakeError(ErrorCode::kInternal, "CMP trust store: " + OpenSslError());
  }
  return OkStatus();
}

}  // namespace

CmpCredentials::~CmpCredentials() { OPENSSL_cleanse(secret.data(), secret.size()); }

Result<CmpCredentials> LoadCmpCredentials(const CmpConfig& config) {
  CmpCredentials c;
  if (config.protection == "mac") {
    SG_ASSIGN_OR_RETURN(c.secret, LoadSecret(config));
  } else {
    SG_ASSIGN_OR_RETURN(c.client_cert, LoadCert(config.client_cert_file, "client_cert_file"));
    SG_ASSIGN_OR_RETURN(c.client_key, LoadKey(config.client_key_file, "client_key_file"));
    if (!CertificateMatchesKey(c.client_cert.get(), c.client_key.get())) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "keyservice.ca.cmp.client_key_file: not the key of client_cert_file");
    }
  }
  if (!config.server_cert_file.empty()) {
    SG_ASSIGN_OR_RETURN(c.server_cert, LoadCert(config.server_cert_file, "server_cert_file"));
  }
  SG_ASSIGN_OR_RETURN(c.issuing, LoadCert(config.issuing_cert_file, "issuing_cert_file"));
  SG_ASSIGN_OR_RETURN(c.root, LoadCert(config.root_cert_file, "root_cert_file"));
  return c;
}

Result<CmpCtxPtr> NewCmpContext(const CmpConfig& config, const CmpCredentials& credentials,
                                CmpProtection protection) {
  CmpCtxPtr ctx(OSSL_CMP_CTX_new(nullptr, nullptr));
  if (!ctx) return MakeError(ErrorCode::kInternal, "OSSL_CMP_CTX_new: " + OpenSslError());
  auto seconds = [](std::chrono::milliseconds d) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  if (OSSL_CMP_CTX_set_log_cb(ctx.get(), DropCmpLog) != 1 ||
      OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_MSG_TIMEOUT, seconds(config.message_timeout)) != 1 ||
      OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_TOTAL_TIMEOUT, seconds(config.total_timeout)) != 1 ||
      OSSL_CMP_CTX_set1_recipient(ctx.get(), X509_get_subject_name(credentials.issuing.get())) != 1) {
    return MakeError(ErrorCode::kInternal, "CMP context: " + OpenSslError());
  }
  SG_RETURN_IF_ERROR(SetServer(ctx.get(), config));
  SG_RETURN_IF_ERROR(SetProtection(ctx.get(), config, credentials, protection));
  SG_RETURN_IF_ERROR(SetResponseTrust(ctx.get(), credentials));
  return ctx;
}

}  // namespace sg::keyservice
