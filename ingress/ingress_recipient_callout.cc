#include "ingress/ingress_recipient_callout.h"

#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sg::ingress {
namespace {

using Clock = std::chrono::steady_clock;

// One blocking SMTP client connection with a deadline for everything.
class CalloutConnection {
 public:
  explicit CalloutConnection(Clock::time_point deadline) : deadline_(deadline) {}
  ~CalloutConnection() {
    if (fd_ >= 0) close(fd_);
  }

  bool Connect(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
    for (addrinfo* a = res; a != nullptr && fd_ < 0; a = a->ai_next) {
      int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
          (errno == EINPROGRESS && Wait(fd, POLLOUT) && SocketOk(fd))) {
        fd_ = fd;
      } else {
        close(fd);
      }
    }
    freeaddrinfo(res);
    return fd_ >= 0;
  }

  bool Send(const std::string& line) {
    std::string data = line + "\r\n";
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!Wait(fd_, POLLOUT)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  // The code of the next complete reply (multi-line replies end at "ddd "),
  // -1 on timeout, close or a reply that is not SMTP.
  int ReadReply() {
    while (true) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) != std::string::npos) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2])) {
          return -1;
        }
        if (line.size() == 3 || line[3] == ' ') return std::stoi(line.substr(0, 3));
        if (line[3] != '-') return -1;
      }
      if (buf_.size() > 65536 || !Wait(fd_, POLLIN)) return -1;
      char tmp[4096];
      ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        continue;
      } else {
        return -1;
      }
    }
  }

 private:
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static bool SocketOk(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  bool Wait(int fd, short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int rc;
    do {
      rc = poll(&p, 1, static_cast<int>(left.count()));
    } while (rc < 0 && errno == EINTR);
    return rc > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
  }

  Clock::time_point deadline_;
  int fd_ = -1;
  std::string buf_;
};

RecipientStatus FromRcptCode(int code) {
  if (code >= 200 && code < 300) return RecipientStatus::kKnown;
  if (code >= 500 && code < 600) return RecipientStatus::kUnknown;
  return RecipientStatus::kUnavailable;
}

}  // namespace

RecipientStatus CalloutSource::Lookup(const std::string& address) {
  if (address.find_first_of("\r\n") != std::string::npos) return RecipientStatus::kUnknown;
  CalloutConnection c(Clock::now() + config_.timeout);
  auto unavailable = [&](const char* stage) {
    spdlog::warn("ingress: recipient callout to {}:{} failed at {}", config_.host, config_.port,
                 stage);
    return RecipientStatus::kUnavailable;
  };
  if (!c.Connect(config_.host, config_.port)) return unavailable("connect");
  if (c.ReadReply() != 220) return unavailable("greeting");
  if (!c.Send("EHLO " + config_.helo)) return unavailable("EHLO");
  int code = c.ReadReply();
  if (code >= 500 && code < 600) {
    if (!c.Send("HELO " + config_.helo)) return unavailable("HELO");
    code = c.ReadReply();
  }
  if (code != 250) return unavailable("EHLO");
  if (!c.Send("MAIL FROM:<>") || c.ReadReply() != 250) return unavailable("MAIL");
  if (!c.Send("RCPT TO:<" + address + ">")) return unavailable("RCPT");
  code = c.ReadReply();
  if (code < 0) return unavailable("RCPT");
  // QUIT without waiting for its 221: the answer is in.
  if (!c.Send("QUIT")) spdlog::debug("ingress: recipient callout: QUIT not sent");
  return FromRcptCode(code);
}

}  // namespace sg::ingress
