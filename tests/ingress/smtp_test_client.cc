#include "tests/ingress/smtp_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace sg::ingress::testing {

SmtpTestClient::~SmtpTestClient() { Close(); }

void SmtpTestClient::Close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buf_.clear();
}

bool SmtpTestClient::Connect(uint16_t port, const std::string& host) {
  Close();
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

bool SmtpTestClient::Send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    int n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off));
    } else {
      n = static_cast<int>(send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL));
    }
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

int SmtpTestClient::Read(char* buf, int len, int timeout_ms) {
  if (ssl_ != nullptr && SSL_pending(ssl_) > 0) return SSL_read(ssl_, buf, len);
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return -2;  // timeout
  if (ssl_ != nullptr) return SSL_read(ssl_, buf, len);
  return static_cast<int>(recv(fd_, buf, static_cast<size_t>(len), 0));
}

std::string SmtpTestClient::ReadReply(int timeout_ms) {
  while (true) {
    // A complete reply ends with a line "ddd " (or "ddd" alone) + CRLF.
    size_t pos = 0;
    while (true) {
      size_t eol = buf_.find("\r\n", pos);
      if (eol == std::string::npos) break;
      std::string line = buf_.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.size() < 4 || line[3] != '-') {
        std::string reply = buf_.substr(0, pos);
        buf_.erase(0, pos);
        return reply;
      }
    }
    char tmp[16384];
    int n = Read(tmp, sizeof tmp, timeout_ms);
    if (n <= 0) return "";
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

bool SmtpTestClient::WaitClosed(int timeout_ms) {
  char tmp[4096];
  while (true) {
    int n = Read(tmp, sizeof tmp, timeout_ms);
    if (n == -2) return false;
    if (n <= 0) return true;
  }
}

bool SmtpTestClient::HandshakeWith(int max_version, const char* ciphers) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx_, 0);
  SSL_CTX_set_max_proto_version(ctx_, max_version);
  if (ciphers != nullptr && SSL_CTX_set_cipher_list(ctx_, ciphers) != 1) return false;
  return TlsConnect();
}

bool SmtpTestClient::Handshake(const std::string& cert_file, const std::string& key_file) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!cert_file.empty()) {
    SSL_CTX_use_certificate_file(ctx_, cert_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM);
  }
  return TlsConnect();
}

bool SmtpTestClient::TlsConnect() {
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  // Blocking handshake bounded by a socket timeout.
  timeval tv{5, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = SSL_connect(ssl_) == 1;
  if (!ok) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
  }
  return ok;
}

std::string SmtpTestClient::PeerCertSubject() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
}

std::string CodeOf(const std::string& reply) {
  if (reply.size() < 3) return "<none>";
  std::string body = reply;
  if (body.size() >= 2 && body.compare(body.size() - 2, 2, "\r\n") == 0) body.resize(body.size() - 2);
  size_t last = body.rfind("\r\n");
  std::string line = last == std::string::npos ? body : body.substr(last + 2);
  std::string code = line.substr(0, 3);
  if (line.size() > 9 && line[4] >= '2' && line[4] <= '5' && line[5] == '.') {
    code += " " + line.substr(4, line.find(' ', 4) - 4);
  }
  return code;
}

}  // namespace sg::ingress::testing
