// A small blocking SMTP client for conversation tests over loopback, with
// STARTTLS through OpenSSL. Every read has a timeout, so a hung server
// fails the test instead of hanging it.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace sg::ingress::testing {

class SmtpTestClient {
 public:
  SmtpTestClient() = default;
  ~SmtpTestClient();
  SmtpTestClient(const SmtpTestClient&) = delete;
  SmtpTestClient& operator=(const SmtpTestClient&) = delete;

  bool Connect(uint16_t port, const std::string& host = "127.0.0.1");
  bool Send(const std::string& bytes);
  // One complete (possibly multi-line) reply; "" on timeout or close.
  std::string ReadReply(int timeout_ms = 5000);
  // Send a line (CRLF added) and read the reply.
  std::string Cmd(const std::string& line) {
    Send(line + "\r\n");
    return ReadReply();
  }
  // STARTTLS handshake after the 220 reply; optional client cert/key.
  bool Handshake(const std::string& cert_file = "", const std::string& key_file = "");
  // The same with the protocol capped at `max_version` (TLS1_2_VERSION...)
  // and, if given, only `ciphers` (an OpenSSL TLS 1.2 cipher list).
  bool HandshakeWith(int max_version, const char* ciphers);
  // True when the server closed the connection (read returns 0 / error).
  bool WaitClosed(int timeout_ms = 5000);
  void Close();
  std::string PeerCertSubject() const;

 private:
  // The client side of the handshake over ctx_ (set up by the caller).
  bool TlsConnect();
  int Read(char* buf, int len, int timeout_ms);
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// "250 2.1.0" from the final line of a reply ("354" without a status).
std::string CodeOf(const std::string& reply);

}  // namespace sg::ingress::testing
