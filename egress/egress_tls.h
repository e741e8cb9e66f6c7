// Client-side TLS over memory BIOs: OpenSSL does the protocol, libuv the
// socket. Ciphertext from the network goes in with FeedCiphertext; what
// OpenSSL wants to send comes out of TakeCiphertext.
//
// Threading: one object per connection, used on its loop thread only.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns/tlsa_record.h"
#include "common/result.h"
#include "egress/egress_config.h"

namespace sg::egress {

// One SSL_CTX per TLS policy (trust store); shared by that route's connections.
class TlsClientContext {
 public:
  // verify: load ca_file (or the system store) and require a valid chain.
  // audit (MTA-STS testing mode): load the trust store and check the chain
  // and host name, but let the handshake succeed whatever the result; the
  // session's VerifyResult() tells.
  static Result<std::shared_ptr<TlsClientContext>> Create(const TlsPolicy& policy,
                                                          bool audit = false);
  // DANE (RFC 7672): verification by the TLSA records each session is given
  // (TlsSession::Create's `dane`), no trust store; DANE-EE(3) matches skip
  // the name checks (DANE_FLAG_NO_DANE_EE_NAMECHECKS) and OpenSSL does not
  // check a DANE-EE certificate's dates.
  static Result<std::shared_ptr<TlsClientContext>> CreateDane();
  ~TlsClientContext();
  SSL_CTX* get() const { return ctx_; }
  bool verify() const { return verify_; }
  bool audit() const { return audit_; }

 private:
  TlsClientContext(SSL_CTX* ctx, bool verify, bool audit)
      : ctx_(ctx), verify_(verify), audit_(audit) {}
  SSL_CTX* ctx_;
  bool verify_;
  bool audit_;
};

// The TLS-RPT (RFC 8460 4.3.2.2) failure type of an X509_V_ERR_* result:
// certificate-expired, certificate-host-mismatch, certificate-not-trusted,
// tlsa-invalid (no DANE TLSA record matched), validation-failure; "" for
// X509_V_OK.
const char* TlsRptCertificateFailure(
    long verify_result);  // NOLINT(google-runtime-int): OpenSSL's type

// What DANE authenticates a session with (egress_dane.h): the usable TLSA
// records of the MX host; the TLSA base domain they were found at ("": the
// MX host name itself; else its CNAME-expanded name, RFC 7672 2.2.3), which
// is the SNI name and the first reference identifier (RFC 7671 10.2); and
// the next-hop (recipient) domain. For DANE-TA(2) certificates the base
// domain, the MX host name and the next-hop domain are all reference
// identifiers (RFC 7672 3.2.2).
struct DaneTarget {
  std::vector<dns::TlsaRecord> records;
  std::string next_hop_domain;
  std::string base_domain;
};

class TlsSession {
 public:
  enum class Progress { kWantMore, kDone };

  // `host` is the name checked against the certificate when the context
  // verifies, and the SNI name when it is not an IP literal. `dane` (with a
  // CreateDane context): the records are the only trust; the TLSA base
  // domain and SNI name are dane->base_domain, or `host` when that is empty
  // (DaneTarget); errors: kInternal when OpenSSL takes none of the records.
  static Result<std::unique_ptr<TlsSession>> Create(const TlsClientContext& ctx,
                                                    const std::string& host,
                                                    const DaneTarget* dane = nullptr);
  ~TlsSession();

  void FeedCiphertext(std::string_view data);
  std::string TakeCiphertext();
  // Drives the handshake; kUnavailable with OpenSSL's reason on failure
  // (a failed verification names the reason, e.g. "certificate has expired").
  Result<Progress> Handshake();
  // Decrypts what is available into `out`. kUnavailable on a TLS error.
  Status ReadPlaintext(std::string& out);
  Status WritePlaintext(std::string_view data);

  // X509_V_OK or why the peer's certificate did not verify (contexts that
  // verify or audit), after the handshake ended.
  long VerifyResult() const;  // NOLINT(google-runtime-int): OpenSSL's type

  std::string Version() const;
  std::string Cipher() const;

 private:
  TlsSession() = default;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> SSL (owned by ssl_)
  BIO* wbio_ = nullptr;  // SSL -> network (owned by ssl_)
};

}  // namespace sg::egress
